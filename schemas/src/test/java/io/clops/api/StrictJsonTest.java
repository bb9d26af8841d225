package io.clops.api;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StrictJsonTest {

    @Test
    void invalidUtf8InAFieldNameIsRefusedEvenAfterTheParserHasSeenOtherNames() {
        // the parser's symbol table matched raw bytes of names it had seen; the fuzzer found this one passing
        StrictJson.parse("{\"d\":\"x\",\"\u00ffd\":1}".getBytes(StandardCharsets.UTF_8));
        byte[] body = {'{', '"', (byte) 0xff, 'd', '"', ':', '"', 'x', '"', '}'};
        assertThatThrownBy(() -> StrictJson.parse(body)).isInstanceOf(StrictJson.NotJson.class)
                .hasMessageContaining("body: is not UTF-8 (byte 2 is 0xff)");
    }

    @Test
    void overlongFormsSurrogatesAndCodePointsAboveTheRangeAreNotUtf8() {
        assertThat(StrictJson.invalidUtf8(new byte[]{'"', (byte) 0xC0, (byte) 0xAF, '"'})).isEqualTo(1); // overlong '/'
        assertThat(StrictJson.invalidUtf8(new byte[]{'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'})).isEqualTo(1); // U+D800
        assertThat(StrictJson.invalidUtf8(new byte[]{(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80})).isZero(); // U+110000
        assertThat(StrictJson.invalidUtf8(new byte[]{'a', (byte) 0xE2, (byte) 0x82})).isEqualTo(1); // cut short
        assertThat(StrictJson.invalidUtf8("ok: é € 𝄞".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1);
    }

    @Test
    void agreesWithTheJdksDecoderOnRandomBytes() {
        Random random = new Random(42);
        for (int round = 0; round < 200_000; round++) {
            byte[] b = new byte[1 + random.nextInt(6)];
            for (int i = 0; i < b.length; i++) {
                int kind = random.nextInt(4);
                b[i] = (byte) (kind == 0 ? 'a' + random.nextInt(26) : kind == 1 ? 0x80 + random.nextInt(64) : 0xC0 + random.nextInt(64));
            }
            boolean jdk;
            try {
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
                jdk = true;
            } catch (CharacterCodingException e) {
                jdk = false;
            }
            assertThat(StrictJson.invalidUtf8(b) < 0).as("%s", java.util.HexFormat.of().formatHex(b)).isEqualTo(jdk);
        }
    }
}
