package dev.gatehouse.samples;

import static dev.gatehouse.samples.JsonMaps.obj;
import static dev.gatehouse.samples.JsonMaps.objectSchema;
import static dev.gatehouse.samples.JsonMaps.prop;
import static dev.gatehouse.samples.ToolKit.error;
import static dev.gatehouse.samples.ToolKit.text;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncCompletionSpecification;
import io.modelcontextprotocol.server.McpServerFeatures.SyncPromptSpecification;
import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceSpecification;
import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceTemplateSpecification;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema.AudioContent;
import io.modelcontextprotocol.spec.McpSchema.BlobResourceContents;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.CompleteResult;
import io.modelcontextprotocol.spec.McpSchema.CompleteResult.CompleteCompletion;
import io.modelcontextprotocol.spec.McpSchema.Content;
import io.modelcontextprotocol.spec.McpSchema.CreateMessageRequest;
import io.modelcontextprotocol.spec.McpSchema.CreateMessageResult;
import io.modelcontextprotocol.spec.McpSchema.ElicitFormRequest;
import io.modelcontextprotocol.spec.McpSchema.ElicitResult;
import io.modelcontextprotocol.spec.McpSchema.EmbeddedResource;
import io.modelcontextprotocol.spec.McpSchema.GetPromptResult;
import io.modelcontextprotocol.spec.McpSchema.ImageContent;
import io.modelcontextprotocol.spec.McpSchema.LoggingLevel;
import io.modelcontextprotocol.spec.McpSchema.LoggingMessageNotification;
import io.modelcontextprotocol.spec.McpSchema.ProgressNotification;
import io.modelcontextprotocol.spec.McpSchema.Prompt;
import io.modelcontextprotocol.spec.McpSchema.PromptArgument;
import io.modelcontextprotocol.spec.McpSchema.PromptMessage;
import io.modelcontextprotocol.spec.McpSchema.PromptReference;
import io.modelcontextprotocol.spec.McpSchema.ReadResourceResult;
import io.modelcontextprotocol.spec.McpSchema.Resource;
import io.modelcontextprotocol.spec.McpSchema.ResourceTemplate;
import io.modelcontextprotocol.spec.McpSchema.ResourcesUpdatedNotification;
import io.modelcontextprotocol.spec.McpSchema.Role;
import io.modelcontextprotocol.spec.McpSchema.SamplingMessage;
import io.modelcontextprotocol.spec.McpSchema.ServerCapabilities;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.TextResourceContents;
import io.modelcontextprotocol.spec.McpStreamableServerTransportProvider;

/**
 * The {@code conformance} server: the fixture that the MCP conformance suite
 * ({@code @modelcontextprotocol/conformance}, {@code conformance server --url ...}) expects to find.
 *
 * <p>Names, texts and shapes follow the suite's scenario descriptions; where a scenario only checks shape
 * the texts are still the ones it documents, so results read the same as other SDKs' fixtures. One tool is
 * extra: {@code touch_watched_resource} changes {@value #WATCHED} and notifies its subscribers, so gateway
 * tests can observe {@code notifications/resources/updated}.
 */
final class ConformanceFixture {

    static final int DEFAULT_PORT = 3002;

    static final String STATIC_TEXT = "test://static-text";
    static final String STATIC_BINARY = "test://static-binary";
    static final String WATCHED = "test://watched-resource";
    static final String TEMPLATE = "test://template/{id}/data";
    private static final Pattern TEMPLATE_URI = Pattern.compile("test://template/([^/]+)/data");

    /** Tools without arguments still declare an (empty) object schema: the spec requires inputSchema. */
    private static final Map<String, Object> NO_ARGS = objectSchema(obj());

    /** The suite's completion example; arg1 completes against these. */
    private static final List<String> ARG1_CANDIDATES = List.of("paris", "park", "party", "test", "testing", "tested");

    /** The SDK keeps the pauses the scenarios ask for ("~50ms") observable as separate SSE events. */
    private static final Duration STEP = Duration.ofMillis(50);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AtomicLong watchedRevision = new AtomicLong(1);
    private final AtomicReference<McpSyncServer> server = new AtomicReference<>();

    private ConformanceFixture() {
    }

    static McpSyncServer build(McpStreamableServerTransportProvider transport) {
        var fixture = new ConformanceFixture();
        McpSyncServer server = McpServer.sync(transport)
            .serverInfo("gatehouse-conformance-fixture", Samples.VERSION)
            .capabilities(ServerCapabilities.builder()
                .tools(true) // test_trigger_tool_change changes the list
                .resources(true, false) // subscribe supported: resources-subscribe / -unsubscribe
                .prompts(true) // test_trigger_prompt_change changes the list
                .logging()
                .completions()
                .build())
            // Sampling and elicitation wait on the client; the suite's own per-request timeout is longer.
            .requestTimeout(Duration.ofSeconds(30))
            .tools(fixture.tools())
            .resources(fixture.resources())
            .resourceTemplates(templateResource())
            .prompts(prompts())
            .completions(completions())
            .build();
        fixture.server.set(server);
        return server;
    }

    // ---- tools ----------------------------------------------------------------------------------------

    private List<SyncToolSpecification> tools() {
        return List.of(
                fixtureTool("test_simple_text", "Returns one text content item.", NO_ARGS,
                        (exchange, args) -> text("This is a simple text response for testing.")),
                fixtureTool("test_image_content", "Returns one image content item: a 1x1 red PNG.", NO_ARGS,
                        (exchange, args) -> result(ImageContent.builder(MediaSamples.RED_PIXEL_PNG, "image/png").build())),
                fixtureTool("test_audio_content", "Returns one audio content item: a short WAV beep.", NO_ARGS,
                        (exchange, args) -> result(AudioContent.builder(MediaSamples.BEEP_WAV, "audio/wav").build())),
                fixtureTool("test_embedded_resource", "Returns one embedded text resource.", NO_ARGS,
                        (exchange, args) -> result(embedded("test://embedded-resource", "text/plain",
                                "This is an embedded resource content."))),
                fixtureTool("test_multiple_content_types", "Returns text, image and embedded resource content together.",
                        NO_ARGS, (exchange, args) -> result(
                                TextContent.builder("Multiple content types test:").build(),
                                ImageContent.builder(MediaSamples.RED_PIXEL_PNG, "image/png").build(),
                                embedded("test://mixed-content-resource", "application/json",
                                        "{\"test\":\"data\",\"value\":123}"))),
                fixtureTool("test_tool_with_logging", "Sends three info-level log notifications while it runs.", NO_ARGS,
                        ConformanceFixture::withLogging),
                fixtureTool("test_error_handling", "Always fails, reporting the failure as an isError result.", NO_ARGS,
                        (exchange, args) -> error("This tool intentionally returns an error for testing")),
                fixtureTool("test_tool_with_progress",
                        "Reports progress 0, 50 and 100 of 100 when the request carries a progress token.", NO_ARGS,
                        ConformanceFixture::withProgress),
                fixtureTool("test_sampling", "Asks the client's LLM (sampling/createMessage) to answer a prompt.",
                        objectSchema(obj("prompt", prop("string", "The prompt to send to the LLM")), "prompt"),
                        ConformanceFixture::sampling),
                fixtureTool("test_elicitation", "Asks the user (elicitation/create) for a username and an email address.",
                        objectSchema(obj("message", prop("string", "The message to show the user")), "message"),
                        (exchange, args) -> elicit(exchange, args.string("message"), "User response: ", obj(
                                "username", prop("string", "User's response"),
                                "email", prop("string", "User's email address")))),
                fixtureTool("test_elicitation_sep1034_defaults",
                        "Elicits a form whose string, integer, number, enum and boolean fields all have defaults (SEP-1034).",
                        NO_ARGS, (exchange, args) -> elicit(exchange, "Please provide your information with defaults",
                                "Elicitation completed: ", obj(
                                        "name", obj("type", "string", "default", "John Doe"),
                                        "age", obj("type", "integer", "default", 30),
                                        "score", obj("type", "number", "default", 95.5),
                                        "status", obj("type", "string",
                                                "enum", List.of("active", "inactive", "pending"), "default", "active"),
                                        "verified", obj("type", "boolean", "default", true)))),
                fixtureTool("test_elicitation_sep1330_enums",
                        "Elicits a form using all five enum schema shapes of SEP-1330.", NO_ARGS,
                        (exchange, args) -> elicit(exchange, "Select your preferences", "Elicitation completed: ",
                                enumShowcase())),
                fixtureTool("json_schema_2020_12_tool",
                        "Declares an input schema with JSON Schema 2020-12 keywords ($schema, $defs, $ref, "
                                + "additionalProperties) that must reach clients intact (SEP-1613).",
                        schema2020(), (exchange, args) -> text("ok")),
                fixtureTool("touch_watched_resource",
                        "Changes " + WATCHED + " and sends notifications/resources/updated to its subscribers.", NO_ARGS,
                        (exchange, args) -> touchWatched()),
                // The diagnostic tools of the suite's 2026-07-28 server-stateless scenario, written against
                // this fixture's own revision (2025-11-25): a gateway in front turns their requests into
                // multi round-trips or capability errors for stateless clients.
                fixtureTool("test_logging_tool", "Sends three info-level log notifications while it runs.", NO_ARGS,
                        ConformanceFixture::withLogging),
                fixtureTool("test_missing_capability", "Needs the client's sampling capability (asks for sampling).", NO_ARGS,
                        (exchange, args) -> sampling(exchange, new ToolKit.Args(Map.of("prompt", "Say hello"), null))),
                fixtureTool("test_streaming_elicitation", "Asks the user (elicitation/create) for a name while it runs.",
                        NO_ARGS, (exchange, args) -> elicit(exchange, "What is your name?", "User response: ",
                                obj("name", prop("string", "Your name")))),
                fixtureTool("test_elicitation_then_progress",
                        "Asks the user (elicitation/create) for a name, then reports progress 1, 2, 3 of 3 and answers.",
                        NO_ARGS, ConformanceFixture::elicitThenProgress),
                fixtureTool("test_custom_headers", "Echoes its region, which 2026-07-28 clients mirror into Mcp-Param-Region.",
                        objectSchema(obj("region", obj("type", "string", "description", "A region name",
                                "x-mcp-header", "Region")), "region"),
                        (exchange, args) -> text("region=" + args.string("region"))),
                fixtureTool("test_trigger_tool_change", "Adds test_dynamic_tool, or removes it if present.", NO_ARGS,
                        (exchange, args) -> toggleTool()),
                fixtureTool("test_trigger_prompt_change", "Adds test_dynamic_prompt, or removes it if present.", NO_ARGS,
                        (exchange, args) -> togglePrompt()));
    }

    private CallToolResult toggleTool() {
        McpSyncServer s = server.get();
        if (s.listTools().stream().anyMatch(t -> t.name().equals("test_dynamic_tool"))) {
            s.removeTool("test_dynamic_tool");
            return text("test_dynamic_tool removed");
        }
        s.addTool(fixtureTool("test_dynamic_tool", "Added by test_trigger_tool_change.", NO_ARGS, (e, a) -> text("dynamic")));
        return text("test_dynamic_tool added");
    }

    private CallToolResult togglePrompt() {
        McpSyncServer s = server.get();
        if (s.listPrompts().stream().anyMatch(p -> p.name().equals("test_dynamic_prompt"))) {
            s.removePrompt("test_dynamic_prompt");
            return text("test_dynamic_prompt removed");
        }
        s.addPrompt(new SyncPromptSpecification(Prompt.builder("test_dynamic_prompt").description("Added by test_trigger_prompt_change").build(),
                (exchange, request) -> GetPromptResult.builder(List.of(
                        userSays(TextContent.builder("A dynamic prompt.").build()))).build()));
        return text("test_dynamic_prompt added");
    }

    private static SyncToolSpecification fixtureTool(String name, String description, Map<String, Object> schema,
            ToolKit.Handler handler) {
        return ToolKit.tool(name, null, description, schema, !name.equals("touch_watched_resource"), handler);
    }

    private static CallToolResult result(Content... content) {
        return CallToolResult.builder(List.of(content)).isError(false).build();
    }

    private static EmbeddedResource embedded(String uri, String mimeType, String text) {
        return EmbeddedResource.builder(TextResourceContents.builder(uri, text).mimeType(mimeType).build()).build();
    }

    private static CallToolResult withLogging(McpSyncServerExchange exchange, ToolKit.Args args) {
        List<String> steps = List.of("Tool execution started", "Tool processing data", "Tool execution completed");
        for (int i = 0; i < steps.size(); i++) {
            if (i > 0) {
                pause();
            }
            exchange.loggingNotification(LoggingMessageNotification.builder(LoggingLevel.INFO, steps.get(i))
                .logger("test_tool_with_logging")
                .build());
        }
        return text("Tool execution completed with logging");
    }

    private static CallToolResult withProgress(McpSyncServerExchange exchange, ToolKit.Args args) {
        Object token = args.progressToken();
        for (double progress : new double[] {0, 50, 100}) {
            if (progress > 0) {
                pause();
            }
            if (token != null) {
                exchange.progressNotification(ProgressNotification.builder(token, progress).total(100.0).build());
            }
        }
        return text(token != null ? "Tool execution completed with progress" : "Tool execution completed without progress");
    }

    private static CallToolResult elicitThenProgress(McpSyncServerExchange exchange, ToolKit.Args args) {
        ElicitResult answer;
        try {
            answer = exchange.createElicitation(ElicitFormRequest.builder("What is your name?",
                    objectSchema(obj("name", prop("string", "Your name")), "name")).build());
        } catch (IllegalStateException | McpError e) {
            return error("elicitation failed: " + e.getMessage());
        }
        Object token = args.progressToken();
        for (int i = 1; i <= 3; i++) {
            if (token != null) {
                exchange.progressNotification(ProgressNotification.builder(token, i).total(3.0).build());
            }
            pause();
        }
        Object name = answer.content() == null ? null : answer.content().get("name");
        return text("Thanks, " + name);
    }

    private static void pause() {
        try {
            Thread.sleep(STEP);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static CallToolResult sampling(McpSyncServerExchange exchange, ToolKit.Args args) {
        String prompt = args.string("prompt");
        var request = CreateMessageRequest.builder(
                List.of(SamplingMessage.builder(Role.USER, TextContent.builder(prompt).build()).build()), 100).build();
        CreateMessageResult response;
        try {
            response = exchange.createMessage(request);
        } catch (IllegalStateException | McpError e) {
            // No sampling capability, or the client refused: the scenario asks for an error result here.
            return error("sampling failed: " + e.getMessage());
        }
        String answer = response.content() instanceof TextContent t ? t.text() : String.valueOf(response.content());
        return text("LLM response: " + answer);
    }

    private static CallToolResult elicit(McpSyncServerExchange exchange, String message, String prefix,
            Map<String, Object> properties) {
        var schema = objectSchema(properties, properties.keySet().toArray(String[]::new));
        ElicitResult response;
        try {
            response = exchange.createElicitation(ElicitFormRequest.builder(message, schema).build());
        } catch (IllegalStateException | McpError e) {
            return error("elicitation failed: " + e.getMessage());
        }
        return text(prefix + "action=" + response.action().name().toLowerCase(Locale.ROOT)
                + ", content=" + response.content());
    }

    /** The five enum shapes of SEP-1330, in the form the suite checks them. */
    private static Map<String, Object> enumShowcase() {
        return obj(
                "untitledSingle", obj("type", "string", "enum", List.of("option1", "option2", "option3")),
                "titledSingle", obj("type", "string", "oneOf", List.of(
                        obj("const", "value1", "title", "First Option"),
                        obj("const", "value2", "title", "Second Option"),
                        obj("const", "value3", "title", "Third Option"))),
                "legacyEnum", obj("type", "string", "enum", List.of("opt1", "opt2", "opt3"),
                        "enumNames", List.of("Option One", "Option Two", "Option Three")),
                "untitledMulti", obj("type", "array",
                        "items", obj("type", "string", "enum", List.of("option1", "option2", "option3"))),
                "titledMulti", obj("type", "array", "items", obj("anyOf", List.of(
                        obj("const", "value1", "title", "First Choice"),
                        obj("const", "value2", "title", "Second Choice"),
                        obj("const", "value3", "title", "Third Choice")))));
    }

    private static Map<String, Object> schema2020() {
        return obj(
                "$schema", "https://json-schema.org/draft/2020-12/schema",
                "type", "object",
                "$defs", obj("address", objectSchema(obj(
                        "street", obj("type", "string"),
                        "city", obj("type", "string")))),
                "properties", obj(
                        "name", obj("type", "string"),
                        "address", obj("$ref", "#/$defs/address")),
                "additionalProperties", false);
    }

    private CallToolResult touchWatched() {
        long revision = watchedRevision.incrementAndGet();
        server.get().notifyResourcesUpdated(new ResourcesUpdatedNotification(WATCHED));
        return text(WATCHED + " is now at revision " + revision);
    }

    // ---- resources ------------------------------------------------------------------------------------

    private List<SyncResourceSpecification> resources() {
        return List.of(
                new SyncResourceSpecification(
                        Resource.builder(STATIC_TEXT, "Static Text Resource")
                            .description("A fixed text resource")
                            .mimeType("text/plain")
                            .build(),
                        (exchange, request) -> ReadResourceResult.builder(List.of(TextResourceContents
                            .builder(STATIC_TEXT, "This is the content of the static text resource.")
                            .mimeType("text/plain")
                            .build())).build()),
                new SyncResourceSpecification(
                        Resource.builder(STATIC_BINARY, "Static Binary Resource")
                            .description("A fixed binary resource: a 1x1 red PNG")
                            .mimeType("image/png")
                            .build(),
                        (exchange, request) -> ReadResourceResult.builder(List.of(BlobResourceContents
                            .builder(STATIC_BINARY, MediaSamples.RED_PIXEL_PNG)
                            .mimeType("image/png")
                            .build())).build()),
                new SyncResourceSpecification(
                        Resource.builder(WATCHED, "Watched Resource")
                            .description("A resource that supports subscriptions; touch_watched_resource changes it")
                            .mimeType("text/plain")
                            .build(),
                        (exchange, request) -> ReadResourceResult.builder(List.of(TextResourceContents
                            .builder(WATCHED, "Watched resource content, revision " + watchedRevision.get())
                            .mimeType("text/plain")
                            .build())).build()));
    }

    private static SyncResourceTemplateSpecification templateResource() {
        return new SyncResourceTemplateSpecification(
                ResourceTemplate.builder(TEMPLATE, "Template Resource")
                    .description("JSON data for any id, substituted from the URI")
                    .mimeType("application/json")
                    .build(),
                (exchange, request) -> {
                    Matcher m = TEMPLATE_URI.matcher(request.uri());
                    if (!m.matches()) {
                        throw McpError.builder(-32002).message("Resource not found: " + request.uri()).build();
                    }
                    String id = m.group(1);
                    String json;
                    try {
                        json = JSON.writeValueAsString(obj("id", id, "templateTest", true, "data", "Data for ID: " + id));
                    } catch (JsonProcessingException e) {
                        throw new IllegalStateException(e);
                    }
                    return ReadResourceResult.builder(List.of(TextResourceContents.builder(request.uri(), json)
                        .mimeType("application/json")
                        .build())).build();
                });
    }

    // ---- prompts and completion -----------------------------------------------------------------------

    private static List<SyncPromptSpecification> prompts() {
        return List.of(
                new SyncPromptSpecification(
                        Prompt.builder("test_simple_prompt").description("A prompt without arguments").build(),
                        (exchange, request) -> GetPromptResult.builder(List.of(
                                userSays(TextContent.builder("This is a simple prompt for testing.").build()))).build()),
                new SyncPromptSpecification(
                        Prompt.builder("test_prompt_with_arguments")
                            .description("A prompt that substitutes two arguments; arg1 supports completion")
                            .arguments(List.of(
                                    PromptArgument.builder("arg1").description("First test argument").required(true).build(),
                                    PromptArgument.builder("arg2").description("Second test argument").required(true).build()))
                            .build(),
                        (exchange, request) -> {
                            Map<String, Object> arguments = request.arguments() == null ? Map.of() : request.arguments();
                            String text = "Prompt with arguments: arg1='" + arguments.get("arg1") + "', arg2='"
                                    + arguments.get("arg2") + "'";
                            return GetPromptResult.builder(List.of(userSays(TextContent.builder(text).build()))).build();
                        }),
                new SyncPromptSpecification(
                        Prompt.builder("test_prompt_with_embedded_resource")
                            .description("A prompt that embeds the resource named by its argument")
                            .arguments(List.of(PromptArgument.builder("resourceUri")
                                .description("URI of the resource to embed")
                                .required(true)
                                .build()))
                            .build(),
                        (exchange, request) -> {
                            Object uri = request.arguments() == null ? null : request.arguments().get("resourceUri");
                            if (!(uri instanceof String resourceUri) || resourceUri.isBlank()) {
                                throw McpError.builder(-32602).message("argument 'resourceUri' is required").build();
                            }
                            return GetPromptResult.builder(List.of(
                                    userSays(embedded(resourceUri, "text/plain", "Embedded resource content for testing.")),
                                    userSays(TextContent.builder("Please process the embedded resource above.").build())))
                                .build();
                        }),
                new SyncPromptSpecification(
                        Prompt.builder("test_prompt_with_image").description("A prompt that contains an image").build(),
                        (exchange, request) -> GetPromptResult.builder(List.of(
                                userSays(ImageContent.builder(MediaSamples.RED_PIXEL_PNG, "image/png").build()),
                                userSays(TextContent.builder("Please analyze the image above.").build()))).build()));
    }

    private static PromptMessage userSays(Content content) {
        return PromptMessage.builder(Role.USER, content).build();
    }

    private static SyncCompletionSpecification completions() {
        return new SyncCompletionSpecification(new PromptReference("test_prompt_with_arguments"), (exchange, request) -> {
            List<String> values = List.of();
            if ("arg1".equals(request.argument().name())) {
                String prefix = request.argument().value() == null ? "" : request.argument().value();
                values = ARG1_CANDIDATES.stream().filter(c -> c.startsWith(prefix)).toList();
            }
            return new CompleteResult(new CompleteCompletion(values, values.size(), false));
        });
    }
}
