package io.clops.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExecutorContractTest {
    static ExecutorContract everythingSet() {
        ExecutorContract.Builder b = ExecutorContract.builder("iris", List.of(
                new ExecutorContract.Route("iris-v1", "http://127.0.0.1:5001", 90),
                new ExecutorContract.Route("iris-v2", "http://iris-iris-v2-model.demo.svc.cluster.local:8080", 10)))
                .port(9100).host("0.0.0.0").shadow(new ExecutorContract.Route("iris-v3", "http://127.0.0.1:5003", 0))
                .protocol("passthrough").deployment("demo", "iris").mode("both").bootstrap("kafka:9092").timeoutMs(1234)
                .maxBodyBytes(777).rateLimitRps(50).inputs("[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]").logRequests(false);
        b.logSample = 0.25;
        b.logMaxBytes = 100;
        b.asyncConcurrency = 3;
        b.token = "s3cret";
        b.threads = 2;
        b.transport = "epoll";
        b.clientIdleMs = 5000;
        b.clientHeaderTimeoutMs = 2000;
        b.clientBodyMinRate = 100;
        return b.build();
    }

    @Test
    void whatARuntimeWritesTheExecutorReadsBackExactly() {
        ExecutorContract c = everythingSet();
        assertThat(ExecutorContract.fromEnv(c.toEnv())).isEqualTo(c);
        ExecutorContract defaults = ExecutorContract.builder("m", "http://127.0.0.1:1").build();
        assertThat(ExecutorContract.fromEnv(defaults.toEnv())).isEqualTo(defaults);
        assertThat(c.toBuilder().build()).isEqualTo(c);
    }

    @Test
    void oneModelUrlAndNothingElseIsEveryDefault() {
        ExecutorContract c = ExecutorContract.fromEnv(Map.of("CLOPS_MODEL_URL", "http://127.0.0.1:8080", "CLOPS_MODEL_NAME", "iris"));
        assertThat(c).isEqualTo(ExecutorContract.builder("iris", "http://127.0.0.1:8080").build());
        assertThat(c.port()).isEqualTo(9000);
        assertThat(c.mode()).isEqualTo("sync");
        assertThat(c.clientHeaderTimeoutMs()).isEqualTo(10_000);
    }

    @Test
    void aValueThatCannotBeReadIsRefusedNamingTheVariable() {
        Map<String, String> base = Map.of("CLOPS_MODEL_URL", "http://127.0.0.1:8080");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(Map.of())).hasMessageContaining("CLOPS_ROUTES (or CLOPS_MODEL_URL)");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(with(base, "CLOPS_TIMEOUT_MS", "soon"))).hasMessage("CLOPS_TIMEOUT_MS: 'soon' is not a whole number");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(with(base, "CLOPS_MODE", "sometimes"))).hasMessageStartingWith("CLOPS_MODE: 'sometimes'");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(with(base, "CLOPS_LOG_REQUESTS", "yes"))).hasMessageStartingWith("CLOPS_LOG_REQUESTS");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(with(base, "CLOPS_EXECUTOR_PORT", "70000"))).hasMessageStartingWith("CLOPS_EXECUTOR_PORT");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(Map.of("CLOPS_ROUTES", "a=http://h:1=x"))).hasMessageStartingWith("CLOPS_ROUTES: weight 'x'");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(Map.of("CLOPS_ROUTES", "a=ftp://h:1=5"))).hasMessageStartingWith("CLOPS_ROUTES: route a: url");
        assertThatThrownBy(() -> ExecutorContract.fromEnv(with(base, "CLOPS_SHADOW", "nonsense"))).hasMessageStartingWith("CLOPS_SHADOW");
    }

    static Map<String, String> with(Map<String, String> base, String k, String v) {
        Map<String, String> m = new java.util.HashMap<>(base);
        m.put(k, v);
        return m;
    }
}
