package io.clops.executor;

/** {@link ProxyBehaviourIT}'s cases with the executor on nio. */
class ProxyBehaviourNioIT extends ProxyBehaviourIT {
    @Override
    String transport() {
        return "nio";
    }
}
