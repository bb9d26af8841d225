package io.clops.api;

/**
 * The groups kube-apiserver knows the platform's users by: the TokenReview webhook answers them for a token (the API's
 * {@code /auth/token-review} as the fold decided the projects), and the Kubernetes runtime binds them in each project's
 * namespace. One spelling for both sides, so a binding always names a group a token can carry.
 */
public final class KubeGroups {
    private KubeGroups() {
    }

    /** The platform's auditors ({@code clops.auth.auditors}): bound as viewers in every project's namespace, nowhere else. */
    public static final String AUDITORS = "clops:auditors";

    /** A project member's group: {@code clops:<project>:<role>}. */
    public static String member(String project, String role) {
        return "clops:" + project + ":" + role;
    }
}
