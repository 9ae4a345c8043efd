package dev.gatehouse.samples;

import static dev.gatehouse.samples.JsonMaps.obj;
import static dev.gatehouse.samples.JsonMaps.objectSchema;
import static dev.gatehouse.samples.JsonMaps.prop;
import static dev.gatehouse.samples.ToolKit.structured;
import static dev.gatehouse.samples.ToolKit.text;
import static dev.gatehouse.samples.ToolKit.tool;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema.ServerCapabilities;
import io.modelcontextprotocol.spec.McpServerTransportProvider;

/** The {@code stdio-tools} server: offline utilities for time, hashing, encoding, ids, JSON and arithmetic. */
final class StdioTools {

    private static final List<String> HASHES = List.of("sha-256", "sha-1", "md5", "sha-512");

    /** Keeps decimals exact (no double rounding) and refuses "{} trailing" as valid JSON. */
    private static final ObjectMapper JSON = JsonMapper.builder()
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();

    private StdioTools() {
    }

    static McpSyncServer build(McpServerTransportProvider transport) {
        return McpServer.sync(transport)
            .serverInfo("gatehouse-stdio-tools", Samples.VERSION)
            .instructions("Offline utilities: current time in any time zone, hashes, base64, UUIDs, "
                    + "JSON formatting and exact decimal arithmetic.")
            .capabilities(ServerCapabilities.builder().tools(false).logging().build())
            .tools(now(), hash(), base64(), uuid(), jsonFormat(), calc())
            .build();
    }

    static SyncToolSpecification now() {
        return tool("now", "Current time",
                "Returns the current date and time in an IANA time zone (for example Europe/Paris, "
                        + "America/New_York, Asia/Tokyo; default UTC): ISO-8601 timestamp with offset, "
                        + "weekday, and Unix epoch milliseconds.",
                objectSchema(obj("timezone", obj("type", "string", "description",
                        "IANA time zone id such as Europe/Paris, or an offset such as +02:00", "default", "UTC"))),
                true, (exchange, args) -> {
                    String zoneId = args.string("timezone", "UTC");
                    ZoneId zone;
                    try {
                        zone = ZoneId.of(zoneId);
                    } catch (DateTimeException e) {
                        throw new IllegalArgumentException("unknown time zone '" + zoneId
                                + "'; use an IANA id such as Europe/Paris or an offset such as +02:00");
                    }
                    ZonedDateTime now = ZonedDateTime.now(zone).truncatedTo(ChronoUnit.MILLIS);
                    String iso = now.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
                    String weekday = now.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                    return structured(iso + " (" + weekday + ", " + zone.getId() + ")",
                            obj("iso", iso, "timezone", zone.getId(), "offset", now.getOffset().getId(),
                                    "weekday", weekday, "epochMillis", now.toInstant().toEpochMilli()));
                });
    }

    static SyncToolSpecification hash() {
        return tool("hash", "Hash text",
                "Computes a cryptographic digest of UTF-8 text and returns it as lowercase hex. "
                        + "Algorithms: sha-256 (default), sha-1, md5, sha-512.",
                objectSchema(obj(
                        "text", prop("string", "The text to hash (hashed as UTF-8 bytes)"),
                        "algorithm", obj("type", "string", "enum", HASHES, "default", "sha-256",
                                "description", "Digest algorithm")),
                        "text"),
                true, (exchange, args) -> {
                    String text = args.string("text");
                    String algorithm = args.string("algorithm", "sha-256").toLowerCase(Locale.ROOT);
                    if (!HASHES.contains(algorithm)) {
                        throw new IllegalArgumentException("unsupported algorithm '" + algorithm + "'; use one of " + HASHES);
                    }
                    try {
                        byte[] digest = MessageDigest.getInstance(algorithm.toUpperCase(Locale.ROOT))
                            .digest(text.getBytes(StandardCharsets.UTF_8));
                        return text(HexFormat.of().formatHex(digest));
                    } catch (NoSuchAlgorithmException e) {
                        // Every JDK must provide these; reaching this means a broken runtime, not bad input.
                        throw new IllegalStateException(e);
                    }
                });
    }

    static SyncToolSpecification base64() {
        return tool("base64", "Base64 encode/decode",
                "Encodes UTF-8 text to Base64, or decodes Base64 back to UTF-8 text. "
                        + "Set url_safe for the URL- and filename-safe alphabet (RFC 4648 section 5).",
                objectSchema(obj(
                        "text", prop("string", "Text to encode, or Base64 to decode"),
                        // Mirrored into an Mcp-Param-Mode header by MCP 2026-07-28 clients over HTTP.
                        "mode", obj("type", "string", "enum", List.of("encode", "decode"), "default", "encode",
                                "description", "encode or decode", "x-mcp-header", "Mode"),
                        "url_safe", obj("type", "boolean", "default", false,
                                "description", "Use the URL-safe alphabet (- and _ instead of + and /)")),
                        "text"),
                true, (exchange, args) -> {
                    String text = args.string("text");
                    boolean urlSafe = args.bool("url_safe", false);
                    return switch (args.string("mode", "encode")) {
                        case "encode" -> text((urlSafe ? Base64.getUrlEncoder() : Base64.getEncoder())
                            .encodeToString(text.getBytes(StandardCharsets.UTF_8)));
                        case "decode" -> text(decodeBase64(text.strip(), urlSafe));
                        default -> throw new IllegalArgumentException("mode must be 'encode' or 'decode'");
                    };
                });
    }

    private static String decodeBase64(String encoded, boolean urlSafe) {
        byte[] bytes;
        try {
            bytes = (urlSafe ? Base64.getUrlDecoder() : Base64.getMimeDecoder()).decode(encoded);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not valid Base64: " + e.getMessage());
        }
        try {
            // Strict decoding: silently replacing bad bytes with U+FFFD would hide that the data is binary.
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("decoded " + bytes.length + " bytes, but they are not UTF-8 text");
        }
    }

    static SyncToolSpecification uuid() {
        return tool("uuid", "Random UUIDs",
                "Generates random (version 4) UUIDs, one per line.",
                objectSchema(obj("count", obj("type", "integer", "minimum", 1, "maximum", 100, "default", 1,
                        "description", "How many UUIDs to generate (1-100)"))),
                true, (exchange, args) -> {
                    int count = (int) args.integer("count", 1, 1, 100);
                    return text(IntStream.range(0, count)
                        .mapToObj(i -> UUID.randomUUID().toString())
                        .collect(Collectors.joining("\n")));
                });
    }

    static SyncToolSpecification jsonFormat() {
        return tool("json_format", "Format or validate JSON",
                "Validates a JSON document and pretty-prints it (indent 1-8 spaces) or compacts it (indent 0). "
                        + "Optionally sorts object keys. Invalid JSON is reported with line and column.",
                objectSchema(obj(
                        "json", prop("string", "The JSON document"),
                        "indent", obj("type", "integer", "minimum", 0, "maximum", 8, "default", 2,
                                "description", "Spaces per level; 0 produces compact single-line JSON"),
                        "sort_keys", obj("type", "boolean", "default", false,
                                "description", "Sort object keys alphabetically")),
                        "json"),
                true, (exchange, args) -> {
                    String json = args.string("json");
                    int indent = (int) args.integer("indent", 2, 0, 8);
                    boolean sortKeys = args.bool("sort_keys", false);
                    Object tree;
                    try {
                        tree = JSON.readValue(json, Object.class);
                    } catch (JsonProcessingException e) {
                        var where = e.getLocation();
                        throw new IllegalArgumentException("invalid JSON"
                                + (where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr())
                                + ": " + e.getOriginalMessage());
                    }
                    var writer = sortKeys ? JSON.writer().with(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                            : JSON.writer().without(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
                    if (indent > 0) {
                        var indenter = new DefaultIndenter(" ".repeat(indent), "\n");
                        // "key": value, as people write it, rather than Jackson's default "key" : value.
                        var separators = Separators.createDefaultInstance()
                            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                            .withObjectEmptySeparator("")
                            .withArrayEmptySeparator("");
                        writer = writer.with(new DefaultPrettyPrinter(separators)
                            .withObjectIndenter(indenter)
                            .withArrayIndenter(indenter));
                    }
                    try {
                        return text(writer.writeValueAsString(tree));
                    } catch (JsonProcessingException e) {
                        throw new IllegalStateException("cannot re-serialize parsed JSON", e);
                    }
                });
    }

    static SyncToolSpecification calc() {
        return tool("calc", "Calculator",
                "Evaluates an arithmetic expression on decimal numbers exactly: + - * /, unary minus and "
                        + "parentheses, with the usual precedence. Example: (1.5 + 2) * -3 / 4. "
                        + "Division keeps 34 significant digits.",
                objectSchema(obj("expression", prop("string", "The expression, e.g. (0.1 + 0.2) * 3")), "expression"),
                true, (exchange, args) -> text(Calculator.evaluate(args.string("expression"))));
    }
}
