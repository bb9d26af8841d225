package io.clops.gateway;

import io.clops.avro.CommandResult;

/**
 * What a caller learns about a request it submitted: the fold's verdict, or that none came within the wait (the
 * request is in the log; its verdict will be on clops.command-results under the request id).
 */
public record Verdict(String commandId, String requestId, CommandResult result) {
    public boolean pending() {
        return result == null;
    }

    public boolean accepted() {
        return result != null && result.getAccepted();
    }
}
