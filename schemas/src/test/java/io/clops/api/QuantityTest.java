package io.clops.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.math.BigDecimal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuantityTest {

    @ParameterizedTest
    @CsvSource({"500m,500", "2,2000", "0.5,500", "1.5,1500", ".25,250", "1.,1000", "+3,3000", "1e3,1000000", "2E-3,2",
            "1000000u,1000", "100000000n,100", "1k,1000000", "0,0"})
    void cpuIsCountedInWholeMillicores(String quantity, long millicores) {
        assertThat(Quantity.millicores(quantity)).isEqualTo(millicores);
    }

    @ParameterizedTest
    @CsvSource({"512Mi,536870912", "2Gi,2147483648", "1.5Gi,1610612736", "1k,1000", "1M,1000000", "128974848,128974848",
            "129e6,129000000", "0.5Ki,512", "1Ei,1152921504606846976"})
    void memoryIsCountedInWholeBytes(String quantity, long bytes) {
        assertThat(Quantity.bytes(quantity)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "-1|must not be negative",
            "''|is empty",
            "Gi|must start with a number",
            ".|must start with a number",
            "1GB|has an unknown suffix 'GB'",
            "1 Gi|has an unknown suffix ' Gi'",
            "1e999|has an exponent beyond ±99",
            "1e|has an unknown suffix 'e'",
            "1.2.3|has an unknown suffix '.3'",
            "1000000000000000000000000000000000000000000|is longer than 40 characters"})
    void whatIsNotAQuantityIsRefusedSayingWhy(String quantity, String why) {
        assertThatThrownBy(() -> Quantity.parse(quantity)).isInstanceOf(Quantity.Invalid.class).hasMessageContaining(why);
    }

    @Test
    void whatKubernetesWouldRoundIsRefusedNotRounded() {
        assertThatThrownBy(() -> Quantity.millicores("1.5m")).hasMessageContaining("whole millicores");
        assertThatThrownBy(() -> Quantity.millicores("1u")).hasMessageContaining("whole millicores");
        assertThatThrownBy(() -> Quantity.bytes("1.5")).hasMessageContaining("whole bytes");
        assertThatThrownBy(() -> Quantity.bytes("500m")).hasMessageContaining("whole bytes");
        assertThatThrownBy(() -> Quantity.bytes("16Ei")).hasMessageContaining("too large");
        assertThatThrownBy(() -> Quantity.millicores("99999999999999999999")).hasMessageContaining("too large");
    }

    @Test
    void valuesAreExact() {
        assertThat(Quantity.parse("0.1")).isEqualByComparingTo(new BigDecimal("0.1"));
        assertThat(Quantity.parse("3Ti")).isEqualByComparingTo(new BigDecimal(3L << 40));
    }

    @Test
    void amountsAreWrittenBackAsKubernetesWouldWriteThem() {
        assertThat(Quantity.cpu(2000)).isEqualTo("2");
        assertThat(Quantity.cpu(1500)).isEqualTo("1500m");
        assertThat(Quantity.cpu(0)).isEqualTo("0");
        assertThat(Quantity.memory(2L << 30)).isEqualTo("2Gi");
        assertThat(Quantity.memory(1536L << 20)).isEqualTo("1536Mi");
        assertThat(Quantity.memory(1000)).isEqualTo("1000");
        assertThat(Quantity.memory(0)).isEqualTo("0");
        for (long m : new long[]{1, 999, 1000, 123456}) {
            assertThat(Quantity.millicores(Quantity.cpu(m))).isEqualTo(m);
        }
        for (long b : new long[]{1, 1023, 1024, 3L << 30, 123456789}) {
            assertThat(Quantity.bytes(Quantity.memory(b))).isEqualTo(b);
        }
    }
}
