package io.clops.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A member's Kafka principal in a project, on a cluster that enforces ACLs (the embedded broker with SASL, or any
 * cluster whose operators let the platform manage SCRAM users and ACLs): {@code User:<project>.<member>} (one per
 * member and project, so one member's rotation does not cut another's clients off, and the broker's own logs name
 * the person), with a SCRAM-SHA-512 password, allowed exactly
 * <ul>
 *   <li>its deployments' topics: read, write and describe on topics prefixed {@code clops.infer.<project>.} (requests,
 *       answers, its own reply-to topics), and consumer groups prefixed {@code <project>.};</li>
 *   <li>its share of the intake: write on {@code clops.intake} (the gateway still checks each record's token and role);</li>
 *   <li>its inference log: read and describe on {@code clops.inference-log.<project>} (a literal name: what its
 *       executors recorded, which members read and do not write).</li>
 * </ul>
 * Nothing else: not another project's topics nor its inference log, not the log ({@code clops.commands},
 * {@code clops.registry}), not the verdicts. The ACLs are Kafka's own (no pattern of ours to get wrong in the
 * broker), and {@link #grant} is idempotent: it sets a new password and (re)creates the same bindings.
 */
public final class KafkaAccess {
    private static final int ITERATIONS = 8192;

    private KafkaAccess() {
    }

    /** A project's credentials: what a client puts in its SASL settings. */
    public record Credentials(String username, String password) {
    }

    /** The Kafka client settings that authenticate as {@code username} with SCRAM-SHA-512 over SASL_PLAINTEXT. */
    public static java.util.Map<String, String> client(String username, String password) {
        return java.util.Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "SCRAM-SHA-512", "sasl.jaas.config", jaas(username, password));
    }

    /** The {@code sasl.jaas.config} of a SCRAM login as {@code username}. */
    public static String jaas(String username, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + username + "\" password=\"" + password + "\";";
    }

    /** The username and password in a SCRAM {@code sasl.jaas.config}, or null when it is not one {@link #jaas} writes. */
    public static Credentials fromJaas(String jaas) {
        var m = java.util.regex.Pattern.compile("ScramLoginModule required username=\"([^\"]+)\" password=\"([^\"]+)\";").matcher(jaas == null ? "" : jaas);
        return m.find() ? new Credentials(m.group(1), m.group(2)) : null;
    }

    /** A new random password (144 bits, base64url). */
    public static String newPassword() {
        byte[] b = new byte[18];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String principal(String project, String member) {
        return project + "." + member;
    }

    /** The ACL bindings a member's principal in a project has. */
    public static List<AclBinding> bindings(String project, String member) {
        String user = "User:" + principal(project, member);
        List<AclBinding> out = new ArrayList<>();
        ResourcePattern topics = new ResourcePattern(ResourceType.TOPIC, Topics.inferPrefix(project), PatternType.PREFIXED);
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE)) {
            out.add(new AclBinding(topics, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        ResourcePattern groups = new ResourcePattern(ResourceType.GROUP, Topics.memberGroupPrefix(project), PatternType.PREFIXED);
        out.add(new AclBinding(groups, new AccessControlEntry(user, "*", AclOperation.READ, AclPermissionType.ALLOW)));
        ResourcePattern intake = new ResourcePattern(ResourceType.TOPIC, Topics.INTAKE.name(), PatternType.LITERAL);
        for (AclOperation op : List.of(AclOperation.WRITE, AclOperation.DESCRIBE)) {
            out.add(new AclBinding(intake, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        ResourcePattern log = new ResourcePattern(ResourceType.TOPIC, Topics.inferenceLog(project).name(), PatternType.LITERAL);
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
            out.add(new AclBinding(log, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        return out;
    }

    /** Sets the member's principal's password to {@code password} (a rotation, when it had one) and its ACLs. */
    public static Credentials grant(Admin admin, String project, String member, String password) {
        return grant(admin, principal(project, member), bindings(project, member), password);
    }

    /** Removes a member's principal in a project: its credential and every ACL it has (a member removed). */
    public static void revoke(Admin admin, String project, String member) {
        revokePrincipal(admin, principal(project, member));
    }

    /**
     * The principal a project's executors use on Kubernetes, where they run in the project's namespace: its credentials
     * are in a Secret there, which the project's admins can read, so they reach what a member's credentials reach and
     * what an executor needs besides, no more. {@code clops-executor.<project>}: no project may be named
     * {@code clops-*} (Names), so it is never a member's principal.
     */
    public static String executorPrincipal(String project) {
        return "clops-executor." + project;
    }

    /**
     * A project's executors' ACLs: its deployments' topics (read, write, describe, create: an executor creates its
     * request and answer topics), its executors' consumer groups ({@code clops.executor.<project>.}), its inference
     * log (write, describe, create: no read), and read of what every executor follows: its own project's members and
     * roles ({@code clops.members.<project>}, not clops.projects), the revocations and the schema catalog. Not the commands, the registry, the intake nor another project's
     * topics.
     */
    public static List<AclBinding> executorBindings(String project) {
        String user = "User:" + executorPrincipal(project);
        List<AclBinding> out = new ArrayList<>();
        ResourcePattern topics = new ResourcePattern(ResourceType.TOPIC, Topics.inferPrefix(project), PatternType.PREFIXED);
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE)) {
            out.add(new AclBinding(topics, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        ResourcePattern groups = new ResourcePattern(ResourceType.GROUP, Topics.executorGroupPrefix(project), PatternType.PREFIXED);
        out.add(new AclBinding(groups, new AccessControlEntry(user, "*", AclOperation.READ, AclPermissionType.ALLOW)));
        ResourcePattern log = new ResourcePattern(ResourceType.TOPIC, Topics.inferenceLog(project).name(), PatternType.LITERAL);
        for (AclOperation op : List.of(AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE)) {
            out.add(new AclBinding(log, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
        }
        for (String followed : List.of(Topics.projectMembers(project).name(), Topics.REVOCATIONS.name(), Topics.SCHEMAS.name())) {
            ResourcePattern t = new ResourcePattern(ResourceType.TOPIC, followed, PatternType.LITERAL);
            for (AclOperation op : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
                out.add(new AclBinding(t, new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW)));
            }
        }
        return out;
    }

    /** Sets the project's executors' principal's password and its ACLs (idempotent, like {@link #grant}). */
    public static Credentials grantExecutor(Admin admin, String project, String password) {
        return grant(admin, executorPrincipal(project), executorBindings(project), password);
    }

    /** Removes the project's executors' principal (a deleted project). */
    public static void revokeExecutor(Admin admin, String project) {
        revokePrincipal(admin, executorPrincipal(project));
    }

    private static Credentials grant(Admin admin, String user, List<AclBinding> bindings, String password) {
        await(admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), password))).all(), "set the SCRAM credential of " + user);
        await(admin.createAcls(bindings).all(), "grant the ACLs of " + user);
        // exactly these: an ACL an earlier version granted and this one does not (an executor's read of every project's
        // clops.projects, say) goes, so a cluster that upgrades does not keep what a new cluster would never grant
        var held = await(admin.describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:" + user, null, AclOperation.ANY, AclPermissionType.ANY))).values(), "list the ACLs of " + user);
        List<AclBindingFilter> stale = held.stream().filter(b -> !bindings.contains(b)).map(AclBinding::toFilter).toList();
        if (!stale.isEmpty()) {
            await(admin.deleteAcls(stale).all(), "remove the ACLs " + user + " no longer has");
        }
        return new Credentials(user, password);
    }

    private static void revokePrincipal(Admin admin, String user) {
        try {
            await(admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512))).all(),
                    "remove the SCRAM credential of " + user);
        } catch (IllegalStateException e) {
            if (!(e.getCause() instanceof ResourceNotFoundException)) {
                throw e;
            }
        }
        await(admin.deleteAcls(List.of(new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:" + user, null, AclOperation.ANY, AclPermissionType.ANY)))).all(), "remove the ACLs of " + user);
    }

    /** Removes every member's principal in a project (a deleted project): those its topics' ACLs name. */
    public static void revokeAll(Admin admin, String project) {
        ResourcePatternFilter topics = new ResourcePatternFilter(ResourceType.TOPIC, Topics.inferPrefix(project), PatternType.PREFIXED);
        var bindings = await(admin.describeAcls(new AclBindingFilter(topics, AccessControlEntryFilter.ANY)).values(), "list the ACLs of " + project);
        String prefix = "User:" + project + ".";
        bindings.stream().map(b -> b.entry().principal()).filter(p -> p.startsWith(prefix)).distinct()
                .forEach(p -> revoke(admin, project, p.substring(prefix.length())));
    }

    private static <T> T await(org.apache.kafka.common.KafkaFuture<T> f, String what) {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + what, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not " + what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("could not " + what + " within 30 s", e);
        }
    }
}
