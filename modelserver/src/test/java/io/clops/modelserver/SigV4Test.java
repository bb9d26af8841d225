package io.clops.modelserver;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The signature S3 expects, checked against AWS's own worked example, and the credential's form checked as a door. */
class SigV4Test {
    /**
     * The "GET Object" example of AWS's "Signature Calculations for the Authorization Header" (Amazon S3 API reference):
     * its key, time, request and the signature the page gives.
     */
    @Test
    void awsDocumentedGetObjectExampleSignsToTheSignatureAwsGives() {
        SigV4.Key key = SigV4.parse("aws-sigv4 us-east-1 AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "examplebucket.s3.amazonaws.com");
        String emptyBody = SigV4.hex(SigV4.sha256(""));
        Map<String, String> h = SigV4.sign(key, "GET", URI.create("https://examplebucket.s3.amazonaws.com/test.txt"), "examplebucket.s3.amazonaws.com",
                Instant.parse("2013-05-24T00:00:00Z"), emptyBody, Map.of("Range", "bytes=0-9"));
        assertThat(h.get("Authorization")).isEqualTo("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        assertThat(h).containsEntry("x-amz-date", "20130524T000000Z").containsEntry("x-amz-content-sha256", emptyBody)
                .doesNotContainKey("x-amz-security-token");
    }

    @Test
    void temporaryCredentialsSignTheirSessionToken() {
        SigV4.Key key = SigV4.parse("aws-sigv4 eu-west-1 ASIAEXAMPLE secret session-token-1", "h");
        Map<String, String> h = SigV4.sign(key, "GET", URI.create("https://h/b/k"), "h", Instant.parse("2026-12-01T12:00:00Z"),
                SigV4.UNSIGNED_PAYLOAD, Map.of());
        assertThat(h).containsEntry("x-amz-security-token", "session-token-1");
        assertThat(h.get("Authorization")).contains("/20261201/eu-west-1/s3/aws4_request,")
                .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,");
    }

    @Test
    void aPathAndQueryAreSignedAsS3ReadsThemAndTheHostCarriesOnlyAPortNotTheSchemes() {
        assertThat(SigV4.canonicalQuery("versionId=3%2F4&b=2&a=1&a=0&flag")).isEqualTo("a=0&a=1&b=2&flag=&versionId=3%2F4");
        assertThat(SigV4.canonicalQuery("k=a b~c")).isEqualTo("k=a%20b~c");
        assertThat(SigV4.canonicalQuery(null)).isEmpty();
        assertThat(SigV4.canonicalPath("/models-bucket/my%20model+v1.onnx")).isEqualTo("/models-bucket/my%20model%2Bv1.onnx");
        assertThat(SigV4.canonicalPath("/b/dir/")).isEqualTo("/b/dir/");
        assertThat(SigV4.canonicalPath("")).isEqualTo("/");
        assertThat(SigV4.hostHeader(URI.create("https://s3.eu-west-1.amazonaws.com/b/k"))).isEqualTo("s3.eu-west-1.amazonaws.com");
        assertThat(SigV4.hostHeader(URI.create("https://minio.local:443/b/k"))).isEqualTo("minio.local");
        assertThat(SigV4.hostHeader(URI.create("http://127.0.0.1:9000/b/k"))).isEqualTo("127.0.0.1:9000");
    }

    @Test
    void aMalformedCredentialIsRefusedNamingTheHostAndNeverTheSecret() {
        assertThat(SigV4.names("AWS-SIGV4 r a s")).isTrue();
        assertThat(SigV4.names("aws-sigv4x r a s")).isFalse();
        assertThat(SigV4.names("aws-sigv4")).as("the scheme alone is a malformed key, not a bearer token").isTrue();
        assertThatThrownBy(() -> SigV4.parse("aws-sigv4", "store.example")).hasMessageContaining("(0 values after the scheme)");
        assertThatThrownBy(() -> SigV4.parse("aws-sigv4 eu-west-1 AKIAONLY", "store.example"))
                .hasMessageContaining("the credential for store.example").hasMessageContaining("<region> <access-key-id> <secret-access-key>");
        assertThatThrownBy(() -> SigV4.parse("aws-sigv4 EU_West AKIA sekrit-9f2", "store.example"))
                .hasMessageContaining("region 'EU_West'").hasMessageNotContaining("sekrit-9f2");
        assertThatThrownBy(() -> SigV4.parse("aws-sigv4 eu-west-1 AK/IA sekrit-9f2", "store.example"))
                .hasMessageContaining("access key id").hasMessageNotContaining("sekrit-9f2");
        assertThat(SigV4.parse("aws-sigv4 eu-west-1 AKIA sekrit-9f2", "h").toString()).doesNotContain("sekrit-9f2");
    }
}
