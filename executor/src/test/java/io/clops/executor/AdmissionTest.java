package io.clops.executor;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The checks every request passes, in order, as values: who (401), how often (429), what (400). */
class AdmissionTest {
    static final String GOOD = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";
    static final String BAD = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP64\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";
    static final String INFER = "/v2/models/iris/infer";

    final AtomicLong now = new AtomicLong();
    final Admission admission = new Admission(TokenCheck.bearer("s3cret"), new RateLimiter(1, now::get), 1,
            ShapeValidator.fromJson("[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]", 1 << 20));

    static java.util.function.Supplier<java.io.InputStream> body(String s) {
        return () -> new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aRequestWithoutTheTokenIsRefusedFirstAndTakesNoShareOfTheRateLimit() {
        Admission.Refusal r = admission.admit(null, "POST", INFER, body(BAD));
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.message()).isEqualTo("missing Authorization: Bearer token");
        assertThat(admission.admit("Bearer s3cret", "POST", INFER, body(GOOD))).as("the refused one took no share").isNull();
    }

    @Test
    void overTheRateTheRefusalSaysWhenToComeBackBeforeTheBodyIsRead() {
        assertThat(admission.admit("Bearer s3cret", "POST", INFER, body(GOOD))).isNull();
        Admission.Refusal r = admission.admit("Bearer s3cret", "POST", INFER, () -> {
            throw new AssertionError("the body is not read for a request over the rate");
        });
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.headerLines()).isEqualTo("Retry-After: 1\r\n");
    }

    @Test
    void aBodyThatDoesNotFitTheDeclaredInputsIsRefusedNamingTheInput() {
        Admission.Refusal r = admission.admit("Bearer s3cret", "POST", INFER + "?x=1", body(BAD));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("input 'input-0'").contains("FP64");
        assertThat(admission.what("POST", "/v2/health/live", body(BAD))).as("not an infer call: not read").isNull();
    }
}
