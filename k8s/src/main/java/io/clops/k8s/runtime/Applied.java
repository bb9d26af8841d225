package io.clops.k8s.runtime;

/**
 * The typed outcome of one object's apply: tests and metrics read these. {@code uid} is the live object's, when
 * the apply saw it (an owner reference needs it: no second read); null after a delete.
 */
public record Applied(String kind, String namespace, String name, Outcome outcome, String uid) {
    public Applied(String kind, String namespace, String name, Outcome outcome) {
        this(kind, namespace, name, outcome, null);
    }

    public boolean wrote() {
        return outcome != Outcome.UNCHANGED;
    }
}
