package io.clops.reconciler;

/** A record after decoding: the value, or the original bytes and why they could not be read. */
record Decoded<T>(T value, byte[] raw, String error) {
    boolean ok() {
        return error == null;
    }
}
