package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.clops.service.Http;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The API's OpenAPI document, generated from the controllers at compile time (micronaut-openapi writes one per
 * module: deployments and projects here, the registry in registry-events) and served merged as one.
 */
@OpenAPIDefinition(info = @Info(title = "clops", version = "v1",
        description = "Projects, deployments and the model registry of clops. Every write goes through the command gateway and is"
                + " answered with the fold's verdict."))
@Controller("/api/v1")
public class ApiDocument {
    static final List<String> PARTS = List.of("META-INF/swagger/clops-v1.yml", "META-INF/swagger/clops-registry-v1.yml");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private final ObjectNode merged;

    public ApiDocument() throws IOException {
        this.merged = merge();
    }

    static ObjectNode merge() throws IOException {
        ObjectNode doc = null;
        for (String part : PARTS) {
            try (InputStream in = ApiDocument.class.getClassLoader().getResourceAsStream(part)) {
                if (in == null) {
                    throw new IllegalStateException("the OpenAPI part " + part + " is not on the classpath (built without micronaut-openapi?)");
                }
                ObjectNode n = (ObjectNode) YAML.readTree(in);
                if (doc == null) {
                    doc = n;
                } else {
                    into(doc, n, "paths");
                    into(doc.with("components"), n.path("components"), "schemas");
                }
            }
        }
        return doc;
    }

    private static void into(ObjectNode target, JsonNode source, String field) {
        JsonNode from = source.path(field);
        ObjectNode to = target.with(field);
        for (Iterator<Map.Entry<String, JsonNode>> it = from.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            to.set(e.getKey(), e.getValue());
        }
    }

    @Get(uri = "/openapi.yaml", produces = "application/yaml")
    public HttpResponse<String> yaml() throws IOException {
        return HttpResponse.<String>status(HttpStatus.OK).contentType(MediaType.of("application/yaml")).body(YAML.writeValueAsString(merged));
    }

    @Get(uri = "/openapi.json", produces = "application/json")
    public HttpResponse<String> json() {
        return Http.json(HttpStatus.OK, merged);
    }
}
