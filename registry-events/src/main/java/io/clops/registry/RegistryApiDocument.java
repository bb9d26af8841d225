package io.clops.registry;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;

/** Names the OpenAPI document written at compile time from this module's controllers (the registry's part of the API). */
@OpenAPIDefinition(info = @Info(title = "clops-registry", version = "v1",
        description = "The model registry: versions, aliases, archiving. Every write goes through the command gateway."))
final class RegistryApiDocument {
    private RegistryApiDocument() {
    }
}
