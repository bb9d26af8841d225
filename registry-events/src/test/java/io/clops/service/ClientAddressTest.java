package io.clops.service;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which address a request comes from, as a client behind (or pretending to be behind) a proxy would try it. */
class ClientAddressTest {
    static final ClientAddress INGRESS = ClientAddress.trusting("10.0.0.0/8, 192.168.7.1, fd00::/8", "clops.http.trusted-proxies");

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void withoutTrustedProxiesTheHeaderIsIgnored() throws Exception {
        assertThat(ClientAddress.PEER.of(ip("203.0.113.5"), List.of("198.51.100.1"))).isEqualTo("203.0.113.5");
        assertThat(ClientAddress.trusting("", "s").of(ip("127.0.0.1"), List.of("198.51.100.1"))).isEqualTo("127.0.0.1");
    }

    @Test
    void aClientThatIsNotATrustedProxyCannotNameAnotherAddress() throws Exception {
        assertThat(INGRESS.of(ip("203.0.113.5"), List.of("198.51.100.1"))).isEqualTo("203.0.113.5");
    }

    @Test
    void behindATrustedProxyTheAddressItVouchedForCounts() throws Exception {
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("198.51.100.1"))).isEqualTo("198.51.100.1");
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of())).isEqualTo("10.1.2.3");
    }

    @Test
    void entriesAClientWroteBeforeTheProxyAppendedItsAddressAreNeverRead() throws Exception {
        // the client sent "X-Forwarded-For: 1.1.1.1, 10.9.9.9" hoping to pass as 1.1.1.1 or as a trusted hop;
        // the ingress appended the address it saw
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("1.1.1.1, 10.9.9.9, 198.51.100.1"))).isEqualTo("198.51.100.1");
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("1.1.1.1", "198.51.100.1"))).as("one header line per hop").isEqualTo("198.51.100.1");
    }

    @Test
    void aChainOfTrustedProxiesIsWalkedToTheClient() throws Exception {
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("198.51.100.1, 192.168.7.1, 10.4.4.4"))).isEqualTo("198.51.100.1");
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("192.168.7.1, 10.4.4.4"))).as("every hop trusted: the first").isEqualTo("192.168.7.1");
    }

    @Test
    void portsAndBracketsAreReadIPv6AndMappedAddressesToo() throws Exception {
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("198.51.100.1:4711"))).isEqualTo("198.51.100.1");
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("[2001:db8::7]:443"))).isEqualTo("2001:db8:0:0:0:0:0:7");
        assertThat(INGRESS.of(ip("fd00::1"), List.of("2001:db8::7"))).isEqualTo("2001:db8:0:0:0:0:0:7");
        assertThat(INGRESS.of(ip("::ffff:10.1.2.3"), List.of("198.51.100.1"))).as("IPv4-mapped peer").isEqualTo("198.51.100.1");
    }

    @Test
    void whatIsNotAnAddressEndsTheWalkAtTheProxyThatPassedItOnAndIsNeverLookedUp() throws Exception {
        for (String junk : List.of("evil.example.com", "cafe", "unknown", "", "1.2.3", "256.1.1.1", "1.2.3.4.5", "fe80::1%eth0",
                "::g", "0x7f.1.1.1", "1.2.3.4 ; drop")) {
            assertThat(INGRESS.of(ip("10.1.2.3"), List.of(junk))).as(junk).isEqualTo("10.1.2.3");
        }
        assertThat(INGRESS.of(ip("10.1.2.3"), List.of("198.51.100.1, nonsense, 10.4.4.4"))).isEqualTo("10.4.4.4");
    }

    @Test
    void blocksMatchOnTheirPrefixOnly() throws Exception {
        ClientAddress odd = ClientAddress.trusting("172.16.0.0/12", "s");
        assertThat(odd.of(ip("172.31.255.255"), List.of("198.51.100.1"))).isEqualTo("198.51.100.1");
        assertThat(odd.of(ip("172.32.0.1"), List.of("198.51.100.1"))).isEqualTo("172.32.0.1");
        assertThat(odd.of(ip("172.15.255.255"), List.of("198.51.100.1"))).isEqualTo("172.15.255.255");
        ClientAddress all = ClientAddress.trusting("0.0.0.0/0", "s");
        assertThat(all.of(ip("8.8.8.8"), List.of("198.51.100.1"))).isEqualTo("198.51.100.1");
    }

    @Test
    void aMalformedSettingIsRefusedNamingIt() {
        for (String bad : List.of("10.0.0.0/33", "ingress.local", "10.0.0.0/x", "::1/129", "10.0.0/8")) {
            assertThatThrownBy(() -> ClientAddress.trusting("127.0.0.1," + bad, "clops.http.trusted-proxies"))
                    .as(bad).hasMessageContaining("clops.http.trusted-proxies").hasMessageContaining(bad);
        }
    }
}
