package io.clops.executor;

/** {@link ProxyBehaviourIT}'s cases with the executor on epoll. */
class ProxyBehaviourEpollIT extends ProxyBehaviourIT {
    @Override
    String transport() {
        return "epoll";
    }
}
