package io.clops.k8s.runtime;

/** The typed outcome of one object's apply: tests and metrics read these. */
public record Applied(String kind, String namespace, String name, Outcome outcome) {
    public boolean wrote() {
        return outcome != Outcome.UNCHANGED;
    }
}
