package io.clops.k8s.runtime;

/** What applying one object did. */
public enum Outcome { CREATED, PATCHED, UNCHANGED, DELETED }
