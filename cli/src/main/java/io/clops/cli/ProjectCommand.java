package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "project", description = "Projects: the tenants of the platform, with members, roles and quotas.",
        subcommands = {ProjectCommand.Create.class, ProjectCommand.ListProjects.class, ProjectCommand.Get.class,
                ProjectCommand.Delete.class, ProjectCommand.Member.class, ProjectCommand.Quota.class, ProjectCommand.ServiceAccounts.class,
                ProjectCommand.KafkaCredentialsCommand.class})
public final class ProjectCommand {

    static final List<Output.Column> PROJECT_COLUMNS = List.of(Output.col("NAME", "/name"),
            new Output.Column("MEMBERS", n -> Integer.toString(n.path("members").size())),
            new Output.Column("CPU", n -> usage(n.at("/quota/cpu"))), new Output.Column("MEMORY", n -> usage(n.at("/quota/memory"))),
            new Output.Column("DEPLOYMENTS", n -> usage(n.at("/quota/deployments"))),
            Output.col("CREATED BY", "/createdBy"), Output.col("DESCRIPTION", "/description"));

    /** Quota flags shared by create and quota set. {@code none} removes a limit. */
    static final class QuotaOptions {
        @Option(names = "--cpu", description = "CPU for all the project's replicas, e.g. 8 or 500m (none: unlimited)") String cpu;
        @Option(names = "--memory", description = "memory for all replicas, e.g. 32Gi (none: unlimited)") String memory;
        @Option(names = "--gpu", description = "GPUs of a type, TYPE=N (nvidia.com/gpu=4; TYPE=none: unlimited); repeatable") List<String> gpu = new ArrayList<>();
        @Option(names = "--deployments", description = "how many deployments (none: unlimited)") String deployments;
        @Option(names = "--replicas", description = "replicas.max summed over every route of every deployment (none: unlimited)") String replicas;

        boolean any() {
            return cpu != null || memory != null || !gpu.isEmpty() || deployments != null || replicas != null;
        }

        /** The quota document: {@code current} (limits as the API shows them) with these flags applied. */
        ObjectNode apply(JsonNode current) {
            ObjectNode q = ApiClient.JSON.createObjectNode();
            ObjectNode g = q.putObject("gpu");
            if (current != null) {
                copyLimit(current, "cpu", q);
                copyLimit(current, "memory", q);
                copyLimit(current, "deployments", q);
                copyLimit(current, "replicas", q);
                Iterator<Map.Entry<String, JsonNode>> it = current.path("gpu").fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getValue().path("limit").isNull() && !e.getValue().path("limit").isMissingNode()) {
                        g.set(e.getKey(), e.getValue().get("limit"));
                    }
                }
            }
            set(q, "cpu", cpu, false);
            set(q, "memory", memory, false);
            set(q, "deployments", deployments, true);
            set(q, "replicas", replicas, true);
            for (String kv : gpu) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new CliException("--gpu " + kv + ": expected TYPE=N, such as nvidia.com/gpu=4", 2);
                }
                set(g, kv.substring(0, eq), kv.substring(eq + 1), true);
            }
            return q;
        }

        private static void copyLimit(JsonNode current, String f, ObjectNode q) {
            JsonNode limit = current.path(f).path("limit");
            if (!limit.isMissingNode() && !limit.isNull()) {
                q.set(f, limit);
            }
        }

        private static void set(ObjectNode q, String field, String value, boolean number) {
            if (value == null) {
                return;
            }
            if (value.equals("none")) {
                q.remove(field);
            } else if (number) {
                try {
                    q.put(field, Integer.parseInt(value));
                } catch (NumberFormatException e) {
                    throw new CliException(field + " " + value + ": expected a whole number or none", 2);
                }
            } else {
                q.put(field, value);
            }
        }
    }

    @Command(name = "create", description = "Create a project; you are its first admin: clops project create team-a --cpu 8 --memory 32Gi")
    static final class Create implements Callable<Integer> {
        @Parameters(index = "0", description = "project name (lower-case letters, digits and '-')") String name;
        @Option(names = "--description", description = "what the project is for") String description;
        @Option(names = "--admin", description = "the first admin (default: you)") String admin;
        @CommandLine.Mixin QuotaMixin quota;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ObjectNode body = ApiClient.JSON.createObjectNode().put("name", name);
            if (description != null) body.put("description", description);
            if (admin != null) body.put("admin", admin);
            if (quota.options.any()) body.set("quota", quota.options.apply(null));
            ApiClient.Answer a = root.api().send("POST", "/api/v1/projects", body);
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, a.body().has("state") ? a.body().get("state") : a.body(), PROJECT_COLUMNS);
            return 0;
        }
    }

    /** The quota flags as a picocli mixin (options of a static nested class are not inherited otherwise). */
    static final class QuotaMixin {
        @CommandLine.ArgGroup(exclusive = false, heading = "Quota:%n") QuotaOptions options = new QuotaOptions();
    }

    @Command(name = "list", description = "Every project, with usage against quota.")
    static final class ListProjects implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().get("/api/v1/projects");
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, a.body(), PROJECT_COLUMNS);
            return 0;
        }
    }

    @Command(name = "get", description = "A project: members, quota and usage (default: the current project).")
    static final class Get implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", description = "project (default: -p)") String name;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            String p = name != null ? name : root.project;
            ApiClient.Answer a = root.api().get("/api/v1/projects/" + p);
            ModelCommand.fail(a);
            if (root.output != Output.Format.table) {
                Output.print(spec.commandLine().getOut(), root.output, a.body(), PROJECT_COLUMNS);
                return 0;
            }
            var out = spec.commandLine().getOut();
            out.printf("Name:         %s%nDescription:  %s%nCreated by:   %s (%s)%nGeneration:   %s%n%nMembers:%n",
                    p, a.body().path("description").asText(""), a.body().path("createdBy").asText(), a.body().path("created").asText(),
                    a.body().path("generation").asText());
            Output.table(out, a.body().get("members"), MEMBER_COLUMNS);
            out.println();
            out.println("Quota:");
            Output.table(out, quotaRows(a.body().get("quota")), QUOTA_COLUMNS);
            out.flush();
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a project: undeploys every deployment in it, removes its models, then the project.")
    static final class Delete implements Callable<Integer> {
        @Parameters(index = "0", description = "project") String name;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().send("DELETE", "/api/v1/projects/" + name, null);
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("PROJECT", "/project"),
                    Output.col("VERDICT", "/verdict"), Output.col("REASON", "/reason")));
            return 0;
        }
    }

    static final List<Output.Column> MEMBER_COLUMNS = List.of(Output.col("USER", "/user"), Output.col("ROLE", "/role"));

    @Command(name = "member", description = "Members of the current project and their roles (viewer, modeler, admin).",
            subcommands = {MemberAdd.class, MemberRemove.class, MemberList.class})
    static final class Member {
    }

    @Command(name = "add", description = "Add a member, or change their role: clops project member add alice --role modeler")
    static final class MemberAdd implements Callable<Integer> {
        @Parameters(index = "0", description = "user") String user;
        @Option(names = "--role", required = true, description = "viewer, modeler or admin") String role;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return memberWrite(spec, "PUT", user, ApiClient.JSON.createObjectNode().put("role", role));
        }
    }

    @Command(name = "rm", aliases = "remove", description = "Remove a member: clops project member rm alice")
    static final class MemberRemove implements Callable<Integer> {
        @Parameters(index = "0", description = "user") String user;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return memberWrite(spec, "DELETE", user, null);
        }
    }

    @Command(name = "list", description = "Members of the current project.")
    static final class MemberList implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return Ui.printGet(spec, "/api/v1/projects/" + Ui.root(spec).project + "/members", MEMBER_COLUMNS);
        }
    }

    private static int memberWrite(CommandLine.Model.CommandSpec spec, String method, String user, JsonNode body) {
        Main root = Ui.root(spec);
        ApiClient.Answer a = root.api().send(method, "/api/v1/projects/" + root.project + "/members/"
                + java.net.URLEncoder.encode(user, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"), body);
        ModelCommand.fail(a);
        Output.print(spec.commandLine().getOut(), root.output, root.output == Output.Format.table ? a.body().at("/state/members") : a.body(),
                MEMBER_COLUMNS);
        return 0;
    }

    static final List<Output.Column> SA_COLUMNS = List.of(Output.col("NAME", "/name"), Output.col("ROLE", "/role"),
            Output.col("PRINCIPAL", "/principal"), Output.col("EXPIRES", "/expires"), Output.col("CREATED BY", "/createdBy"));

    @Command(name = "serviceaccount", aliases = "sa", description = "Service accounts of the current project: identities for pipelines,"
            + " each with one long-lived token for this project only (admins).", subcommands = {SaCreate.class, SaList.class, SaRemove.class})
    static final class ServiceAccounts {
    }

    @Command(name = "create", description = "Create one and print its token (shown once): clops project sa create nightly --role modeler")
    static final class SaCreate implements Callable<Integer> {
        @Parameters(index = "0", description = "name") String name;
        @Option(names = "--role", defaultValue = "modeler", description = "viewer, modeler or admin (default ${DEFAULT-VALUE})") String role;
        @Option(names = "--days", defaultValue = "365", description = "how long its token lasts (default ${DEFAULT-VALUE})") int days;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().send("POST", "/api/v1/projects/" + root.project + "/serviceaccounts",
                    ApiClient.JSON.createObjectNode().put("name", name).put("role", role).put("days", days));
            ModelCommand.fail(a);
            if (root.output != Output.Format.table) {
                Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of());
            } else {
                var out = spec.commandLine().getOut();
                out.printf("service account %s (%s in %s, until %s)%n", a.body().path("principal").asText(), a.body().path("role").asText(),
                        root.project, a.body().path("expires").asText());
                out.println("token (shown once; put it in the pipeline's secrets, as Authorization: Bearer or the clops-token header):");
                out.println(a.body().path("token").asText());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "kafka-credentials", description = {"Your own Kafka credentials in the current project (any role), where the platform's",
            "Kafka enforces ACLs: read and write its deployments' topics, write the intake. A new password each time (the previous one stops)."})
    static final class KafkaCredentialsCommand implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            JsonNode b = Predictor.issued(root.api(), root.project);
            if (root.output != Output.Format.table) {
                Output.print(spec.commandLine().getOut(), root.output, b, List.of());
            } else {
                var out = spec.commandLine().getOut();
                out.printf("Kafka %s as %s (%s %s); %s%n", b.path("bootstrap").asText(), b.path("username").asText(),
                        b.path("securityProtocol").asText(), b.path("saslMechanism").asText(), b.path("topics").asText());
                out.println("password (shown once): " + b.path("password").asText());
                out.printf("Java: security.protocol=%s sasl.mechanism=%s sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                        + "required username=\"%s\" password=\"…\";%n", b.path("securityProtocol").asText(), b.path("saslMechanism").asText(),
                        b.path("username").asText());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "list", description = "The current project's service accounts (never their tokens).")
    static final class SaList implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return Ui.printGet(spec, "/api/v1/projects/" + Ui.root(spec).project + "/serviceaccounts", SA_COLUMNS);
        }
    }

    @Command(name = "rm", aliases = "remove", description = "Remove one; its token stops working on every door within the revocation bound.")
    static final class SaRemove implements Callable<Integer> {
        @Parameters(index = "0", description = "name") String name;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().send("DELETE", "/api/v1/projects/" + root.project + "/serviceaccounts/" + name, null);
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("PROJECT", "/project"),
                    Output.col("VERDICT", "/verdict"), Output.col("REASON", "/reason")));
            return 0;
        }
    }

    static final List<Output.Column> QUOTA_COLUMNS = List.of(Output.col("RESOURCE", "/resource"), Output.col("LIMIT", "/limit"),
            Output.col("USED", "/used"), Output.col("LEFT", "/left"));

    @Command(name = "quota", description = "The current project's quota, and what its deployments use of it.",
            subcommands = {QuotaGet.class, QuotaSet.class})
    static final class Quota {
    }

    @Command(name = "get", description = "Quota, usage and what is left: clops project quota get -p team-a")
    static final class QuotaGet implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().get("/api/v1/projects/" + root.project + "/quota");
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, root.output == Output.Format.table ? quotaRows(a.body()) : a.body(),
                    QUOTA_COLUMNS);
            return 0;
        }
    }

    @Command(name = "set", description = "Change limits, keeping the others: clops project quota set --cpu 16 --gpu nvidia.com/gpu=2"
            + " (refused below what the deployments use)")
    static final class QuotaSet implements Callable<Integer> {
        @CommandLine.Mixin QuotaMixin quota;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            if (!quota.options.any()) {
                throw new CliException("nothing to set: give --cpu, --memory, --gpu, --deployments or --replicas", 2);
            }
            ApiClient.Answer current = root.api().get("/api/v1/projects/" + root.project + "/quota");
            ModelCommand.fail(current);
            ApiClient.Answer a = root.api().send("PUT", "/api/v1/projects/" + root.project + "/quota", quota.options.apply(current.body()));
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, root.output == Output.Format.table
                    ? quotaRows(a.body().at("/state/quota")) : a.body(), QUOTA_COLUMNS);
            return 0;
        }
    }

    /** The API's quota object as table rows: one per resource (each GPU type its own). */
    static ArrayNode quotaRows(JsonNode quota) {
        ArrayNode rows = ApiClient.JSON.createArrayNode();
        for (String r : List.of("cpu", "memory", "deployments", "replicas")) {
            row(rows, r, quota.path(r));
        }
        Iterator<Map.Entry<String, JsonNode>> it = quota.path("gpu").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            row(rows, e.getKey(), e.getValue());
        }
        return rows;
    }

    private static void row(ArrayNode rows, String resource, JsonNode r) {
        ObjectNode o = rows.addObject().put("resource", resource);
        o.put("limit", r.path("limit").isNull() || r.path("limit").isMissingNode() ? "unlimited" : r.path("limit").asText());
        o.put("used", r.path("used").asText());
        o.put("left", r.path("left").isNull() || r.path("left").isMissingNode() ? "-" : r.path("left").asText());
    }

    private static String usage(JsonNode r) {
        String used = r.path("used").asText("0");
        return r.path("limit").isNull() || r.path("limit").isMissingNode() ? used : used + "/" + r.path("limit").asText();
    }
}
