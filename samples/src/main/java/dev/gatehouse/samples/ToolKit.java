package dev.gatehouse.samples;

import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import io.modelcontextprotocol.spec.McpSchema.ToolAnnotations;

/** Small helpers shared by the sample tools: declaring them, reading arguments, building results. */
final class ToolKit {

    private ToolKit() {
    }

    /** What a tool does with its arguments; may throw {@link IllegalArgumentException} for bad input. */
    @FunctionalInterface
    interface Handler extends BiFunction<McpSyncServerExchange, Args, CallToolResult> {
    }

    /**
     * A tool whose handler's {@link IllegalArgumentException}s become {@code isError} results. MCP wants
     * tool failures reported in the result, where the model can read them, rather than as JSON-RPC errors.
     */
    static SyncToolSpecification tool(String name, String title, String description, Map<String, Object> inputSchema,
            boolean readOnly, Handler handler) {
        Tool tool = Tool.builder(name, inputSchema)
            .title(title)
            .description(description)
            .annotations(ToolAnnotations.builder()
                .title(title)
                .readOnlyHint(readOnly)
                .destructiveHint(false)
                .openWorldHint(false)
                .build())
            .build();
        return new SyncToolSpecification(tool, (exchange, request) -> {
            try {
                return handler.apply(exchange, new Args(request.arguments(), request.progressToken()));
            } catch (IllegalArgumentException e) {
                return error(e.getMessage());
            }
        });
    }

    static CallToolResult text(String text) {
        return CallToolResult.builder(List.of(TextContent.builder(text).build())).isError(false).build();
    }

    /** A text result that also carries the same data as {@code structuredContent}, for programmatic clients. */
    static CallToolResult structured(String text, Map<String, Object> data) {
        return CallToolResult.builder(List.of(TextContent.builder(text).build()))
            .structuredContent(data)
            .isError(false)
            .build();
    }

    static CallToolResult error(String message) {
        return CallToolResult.builder(List.of(TextContent.builder(message).build())).isError(true).build();
    }

    /**
     * A tool call's arguments, with typed accessors that explain what was wrong, and the caller's progress
     * token ({@code _meta.progressToken}), null when the caller does not want progress notifications.
     */
    record Args(Map<String, Object> values, Object progressToken) {

        Args {
            values = values == null ? Map.of() : values;
        }

        String string(String name) {
            Object v = values.get(name);
            if (v == null) {
                throw new IllegalArgumentException("missing required argument '" + name + "'");
            }
            if (!(v instanceof String s)) {
                throw new IllegalArgumentException("argument '" + name + "' must be a string");
            }
            return s;
        }

        String string(String name, String fallback) {
            return values.get(name) == null ? fallback : string(name);
        }

        long integer(String name, long min, long max) {
            if (values.get(name) == null) {
                throw new IllegalArgumentException("missing required argument '" + name + "'");
            }
            return integer(name, 0, min, max);
        }

        long integer(String name, long fallback, long min, long max) {
            Object v = values.get(name);
            if (v == null) {
                return fallback;
            }
            // JSON numbers arrive as Integer, Long, Double or BigDecimal depending on the mapper.
            if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
                throw new IllegalArgumentException("argument '" + name + "' must be an integer");
            }
            long value = n.longValue();
            if (value < min || value > max) {
                throw new IllegalArgumentException(
                        "argument '" + name + "' must be between " + min + " and " + max + ", got " + value);
            }
            return value;
        }

        boolean bool(String name, boolean fallback) {
            Object v = values.get(name);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof Boolean b)) {
                throw new IllegalArgumentException("argument '" + name + "' must be true or false");
            }
            return b;
        }
    }
}
