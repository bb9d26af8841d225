package io.clops.gateway;

/**
 * Who a request acts for: written as the actor of every command and registry event the gateway appends. Today the
 * configured local user (HTTP and intake) or the Kubernetes user the CRD bridge derives; the identity issue makes it
 * the authenticated user of a token.
 */
public record Principal(String name, String onlyProject) {
    /** A user acting in any project their roles reach. */
    public Principal(String name) {
        this(name, null);
    }

    /**
     * @param onlyProject the one project a service account's token is for (null: a user's, any of theirs)
     */
    public Principal {
        if (name == null || name.isBlank() || name.length() > 200 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("a principal is a name of 1 to 200 printable characters, not '" + name + "'");
        }
    }
}
