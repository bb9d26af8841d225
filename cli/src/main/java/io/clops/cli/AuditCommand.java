package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.clops.reconciler.AuditVerifier;
import io.clops.reconciler.LogSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Who did what, when, with which verdict and change: the audit trail the topology writes, read through the API. */
@Command(name = "audit", description = {"Who did what and when: every command, registry and project event with its actor, verdict and change.",
        "The project's records (-p), or with --all every project you have a role in; oldest first. -o jsonl streams one JSON",
        "document per record (what a SIEM or Elasticsearch ingests)."},
        subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class, AuditCommand.Logins.class})
public final class AuditCommand implements Callable<Integer> {
    @Option(names = "--all", description = "every project you have a role in, not only -p's") boolean all;
    @Option(names = "--deployment", description = "only events that named or changed this deployment") String deployment;
    @Option(names = "--model", description = "only registry events of this model") String model;
    @Option(names = "--actor", description = "only what this user (or serviceaccount:<project>:<name>) did") String actor;
    @Option(names = "--since", description = "from this moment: 2026-12-01T14:03:00Z, 2026-12-01T14:03 (UTC), 2026-12-01, or epoch ms") String since;
    @Option(names = "--until", description = "up to this moment (inclusive)") String until;
    @Option(names = "--limit", defaultValue = "1000", description = "at most this many records (default ${DEFAULT-VALUE}); 0: all") int limit;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    static final List<Output.Column> COLUMNS = List.of(Output.col("TIME", "/@timestamp"), Output.col("PROJECT", "/project"),
            Output.col("ACTOR", "/actor"), Output.col("ACTION", "/action"),
            new Output.Column("TARGET", n -> n.path("deployment").isTextual() ? n.path("deployment").asText() : n.path("model").asText("")),
            new Output.Column("VERDICT", n -> n.path("accepted").asBoolean() ? "accepted" : "refused: " + n.path("reason").asText()),
            AuditCommand.changes());

    /** The first change of a record or generation, and how many more (a table cell; -o json has them all). */
    static Output.Column changes() {
        return new Output.Column("CHANGES", n -> {
            JsonNode c = n.path("changes");
            return c.isEmpty() ? "" : c.get(0).asText() + (c.size() > 1 ? " (+" + (c.size() - 1) + " more)" : "");
        });
    }

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        ApiClient api = root.api();
        StringBuilder q = new StringBuilder();
        param(q, "project", all ? null : root.project);
        param(q, "deployment", deployment);
        param(q, "model", model);
        param(q, "actor", actor);
        param(q, "since", since);
        param(q, "until", until);
        ArrayNode items = ApiClient.JSON.createArrayNode();
        String after = null;
        boolean jsonl = root.output == Output.Format.jsonl;
        do { // page by page; -o jsonl prints each page as it comes
            int page = limit == 0 ? 1000 : Math.min(1000, limit - items.size());
            ApiClient.Answer a = api.get("/api/v1/audit?limit=" + page + q + (after == null ? "" : "&after=" + enc(after)));
            ModelCommand.fail(a);
            if (jsonl) {
                Output.print(spec.commandLine().getOut(), root.output, a.body(), COLUMNS);
            }
            a.body().path("items").forEach(items::add);
            after = a.body().path("next").isTextual() ? a.body().path("next").asText() : null;
        } while (after != null && (limit == 0 || items.size() < limit));
        if (!jsonl) {
            ObjectNode out = ApiClient.JSON.createObjectNode();
            out.set("items", items);
            Output.print(spec.commandLine().getOut(), root.output, out, COLUMNS);
        }
        return 0;
    }

    static void param(StringBuilder q, String name, String value) {
        if (value != null && !value.isBlank()) {
            q.append('&').append(name).append('=').append(enc(value));
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Command(name = "verify", description = {"Check the audit trail: each record's hash, each link to its project's previous record, and each",
            "event's bytes against the digest the trail recorded; names the first broken link. Through the API, or on a copy",
            "of the log (--file, from clops audit export) with no server at all. Exits 1 when a link is broken."})
    static final class Verify implements Callable<Integer> {
        @Option(names = "--file", description = "a copy of the log (clops audit export) to check here instead of the platform's") Path file;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            JsonNode result;
            if (file != null) {
                AuditVerifier.Result r;
                try (LogSource copy = LogSource.file(file)) {
                    r = AuditVerifier.verify(copy);
                } catch (RuntimeException e) {
                    throw new CliException("cannot check " + file + ": " + e.getMessage());
                }
                ObjectNode o = ApiClient.JSON.createObjectNode();
                o.put("intact", r.intact()).put("records", r.records()).put("events", r.events()).put("unaudited", r.unaudited()).put("broken", r.broken());
                result = o;
            } else {
                ApiClient.Answer a = Ui.root(spec).api().get("/api/v1/audit/verify");
                if (a.status() != 200 && a.status() != 409) {
                    ModelCommand.fail(a);
                }
                result = a.body();
            }
            Output.print(spec.commandLine().getOut(), root.output, result, List.of(
                    new Output.Column("INTACT", n -> n.path("intact").asBoolean() ? "yes" : "NO"), Output.col("RECORDS", "/records"),
                    Output.col("EVENTS", "/events"), Output.col("NOT YET AUDITED", "/unaudited"), Output.col("FIRST BROKEN LINK", "/broken")));
            return result.path("intact").asBoolean() ? 0 : 1;
        }
    }

    @Command(name = "logins", description = {"Logins from the log: each session token issued (its id, expiry and state: active, revoked or expired) and",
            "each refused attempt, with the method (password, github) and the address; oldest first, the latest --limit. Where",
            "the platform requires tokens you read your own only; its auditors (clops.auth.auditors) anyone's, everyone's without --user."})
    static final class Logins implements Callable<Integer> {
        @Option(names = "--user", description = "whose logins (where tokens are required: only yours, the default; an auditor's: anyone's, everyone's without it)") String user;
        @Option(names = "--since", description = "from this moment: 2026-12-01T14:03:00Z, 2026-12-01T14:03 (UTC), 2026-12-01, or epoch ms") String since;
        @Option(names = "--until", description = "up to this moment (inclusive)") String until;
        @Option(names = "--limit", defaultValue = "100", description = "the latest this many (default ${DEFAULT-VALUE}, at most 1000)") int limit;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            StringBuilder q = new StringBuilder();
            param(q, "user", user);
            param(q, "since", since);
            param(q, "until", until);
            ApiClient.Answer a = root.api().get("/api/v1/logins?limit=" + limit + q);
            ModelCommand.fail(a);
            Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("TIME", "/@timestamp"),
                    Output.col("USER", "/user"), Output.col("METHOD", "/method"), Output.col("OUTCOME", "/outcome"),
                    Output.col("ADDRESS", "/address"), Output.col("TOKEN", "/tokenId"), Output.col("EXPIRES", "/expires"),
                    Output.col("STATE", "/state")));
            if (a.body().path("truncated").asBoolean() && root.output == Output.Format.table) {
                spec.commandLine().getErr().println("(older logins matched too: --since, --until or a larger --limit show them)");
            }
            return 0;
        }
    }

    @Command(name = "export", description = {"Copy the log (commands, registry, audit trail, logins: every record, bytes and all) to a file, one JSON line",
            "per record, for clops audit verify --file and for keeping. Reads Kafka directly (an operator's tool): --bootstrap, and",
            "the CLOPS_KAFKA_CLIENT_* settings of the environment for a secured cluster."})
    static final class Export implements Callable<Integer> {
        @Parameters(index = "0", description = "the file to write") Path file;
        @Option(names = "--bootstrap", required = true, description = "the platform's Kafka") String bootstrap;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            long n;
            try (LogSource log = LogSource.kafka(bootstrap)) {
                n = LogSource.export(log, file);
            }
            spec.commandLine().getOut().println("wrote " + n + " records to " + file);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
