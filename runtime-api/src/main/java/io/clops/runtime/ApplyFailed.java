package io.clops.runtime;

/**
 * A runtime could not apply a deployment, for a reason a user can act on (the worker shows the message as it is in
 * the deployment's status, e.g. {@code 403 Forbidden on create Deployment clops-demo/iris-v1: ...}).
 */
public class ApplyFailed extends RuntimeException {
    public ApplyFailed(String reason, Throwable cause) {
        super(reason, cause);
    }
}
