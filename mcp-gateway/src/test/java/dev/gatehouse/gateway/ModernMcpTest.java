package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ModernMcpTest {
  static JsonNode json(String s) throws Exception {
    return Json.MAPPER.readTree(s);
  }

  static ObjectNode params(String version, String extra) throws Exception {
    return (ObjectNode) json("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + version + "\"}" + extra + "}");
  }

  @Test
  void aRequestIsModernByItsMetaVersionOrTheHeader() throws Exception {
    ObjectNode modern = (ObjectNode) json("{\"method\":\"tools/list\",\"params\":" + params("2026-07-28", "") + "}");
    assertTrue(ModernMcp.modern(null, modern));
    ObjectNode legacy = (ObjectNode) json("{\"method\":\"tools/list\",\"params\":" + params("2025-11-25", "") + "}");
    assertFalse(ModernMcp.modern("2026-07-28", legacy), "a session-based version in _meta is served with its session");
    ObjectNode bare = (ObjectNode) json("{\"method\":\"tools/list\"}");
    assertTrue(ModernMcp.modern("2026-07-28", bare));
    assertFalse(ModernMcp.modern("2025-11-25", bare));
    assertFalse(ModernMcp.modern(null, bare));
    ObjectNode future = (ObjectNode) json("{\"method\":\"tools/list\",\"params\":" + params("2099-01-01", "") + "}");
    assertTrue(ModernMcp.modern(null, future), "an unknown version is answered by the stateless side, which lists what it serves");
    ObjectNode init = (ObjectNode) json("{\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\"}}");
    assertFalse(ModernMcp.modern(null, init), "a session-based client's initialize opens a session");
    ObjectNode modernInit = (ObjectNode) json("{\"method\":\"initialize\",\"params\":" + params("2026-07-28", "") + "}");
    assertTrue(ModernMcp.modern("2026-07-28", modernInit), "to a modern client initialize is an unknown method");
  }

  @Test
  void headersThatAgreeWithTheBodyPass() throws Exception {
    ModernMcp.Mirror m = new ModernMcp.Mirror("2026-07-28", "tools/call", "get_weather", Map.of());
    assertNull(m.check("tools/call", params("2026-07-28", ",\"name\":\"get_weather\"")));
    ModernMcp.Mirror list = new ModernMcp.Mirror("2026-07-28", "tools/list", null, Map.of());
    assertNull(list.check("tools/list", params("2026-07-28", "")), "only calls, reads and prompts name their target");
  }

  @Test
  void eachDisagreementIsAHeaderMismatchNamingIt() throws Exception {
    ObjectNode call = params("2026-07-28", ",\"name\":\"bar\"");
    RpcError name = new ModernMcp.Mirror("2026-07-28", "tools/call", "foo", Map.of()).check("tools/call", call);
    assertEquals(-32020, name.code());
    assertEquals("Header mismatch: Mcp-Name header value 'foo' does not match body value 'bar'", name.message());
    RpcError method = new ModernMcp.Mirror("2026-07-28", "tools/list", "bar", Map.of()).check("tools/call", call);
    assertEquals(-32020, method.code());
    assertTrue(method.message().contains("Mcp-Method header value 'tools/list' does not match body value 'tools/call'"), method.message());
    assertEquals(-32020, new ModernMcp.Mirror(null, "tools/call", "bar", Map.of()).check("tools/call", call).code());
    assertEquals(-32020, new ModernMcp.Mirror("2026-07-28", null, "bar", Map.of()).check("tools/call", call).code());
    assertEquals(-32020, new ModernMcp.Mirror("2026-07-28", "tools/call", null, Map.of()).check("tools/call", call).code());
    RpcError version = new ModernMcp.Mirror("2026-07-28", "tools/call", "bar", Map.of())
        .check("tools/call", params("2025-06-18", ",\"name\":\"bar\""));
    assertEquals(-32020, version.code());
    assertTrue(version.message().contains("'2026-07-28' does not match body value '2025-06-18'"), version.message());
  }

  @Test
  void aRequestWithoutItsMetaFieldsIsInvalidParams() throws Exception {
    assertEquals(-32602, ModernMcp.metaProblem(json("{}")).code());
    assertEquals(-32602, ModernMcp.metaProblem(json("{\"_meta\":{\"io.modelcontextprotocol/clientCapabilities\":{}}}")).code());
    RpcError caps = ModernMcp.metaProblem(params("2026-07-28", ""));
    assertEquals(-32602, caps.code());
    assertTrue(caps.message().contains("clientCapabilities"), caps.message());
    assertNull(ModernMcp.metaProblem(json("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
        + "\"io.modelcontextprotocol/clientCapabilities\":{}}}")), "clientInfo is optional");
  }

  @Test
  void anUnsupportedVersionListsWhatIsServed() throws Exception {
    RpcError e = new ModernMcp.Mirror("2099-01-01", "tools/list", null, Map.of()).check("tools/list", params("2099-01-01", ""));
    assertEquals(-32022, e.code());
    JsonNode data = e.data().orElseThrow();
    assertEquals("2099-01-01", data.path("requested").asText());
    assertEquals("2026-07-28", data.path("supported").path(0).asText());
    assertTrue(data.path("supported").toString().contains("2025-11-25"), data.toString());
  }

  @Test
  void base64HeaderValuesAreDecodedBeforeComparing() throws Exception {
    String encoded = "=?base64?" + java.util.Base64.getEncoder().encodeToString("Hello, 世界".getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "?=";
    assertNull(new ModernMcp.Mirror("2026-07-28", "prompts/get", encoded, Map.of())
        .check("prompts/get", params("2026-07-28", ",\"name\":\"Hello, 世界\"")));
    assertEquals(-32020, new ModernMcp.Mirror("2026-07-28", "prompts/get", "=?base64?***?=", Map.of())
        .check("prompts/get", params("2026-07-28", ",\"name\":\"x\"")).code());
    assertEquals(java.util.Optional.empty(), ModernMcp.decode("=?base64?SGVsbG8?="), "padding is required");
    assertEquals(java.util.Optional.of("Hello"), ModernMcp.decode("=?base64?SGVsbG8=?="));
    assertEquals(java.util.Optional.of("SGVsbG8="), ModernMcp.decode("SGVsbG8="), "without the wrapper a value is literal");
  }

  @Test
  void argumentsMarkedForHeadersMustBeMirrored() throws Exception {
    JsonNode schema = json("{\"type\":\"object\",\"properties\":{"
        + "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
        + "\"limit\":{\"type\":\"integer\",\"x-mcp-header\":\"Limit\"},"
        + "\"opts\":{\"type\":\"object\",\"properties\":{\"dry\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry\"}}},"
        + "\"items\":{\"type\":\"array\",\"items\":{\"properties\":{\"x\":{\"x-mcp-header\":\"Hidden\"}}}},"
        + "\"query\":{\"type\":\"string\"}}}");
    assertEquals(Map.of("Region", List.of("region"), "Limit", List.of("limit"), "Dry", List.of("opts", "dry")),
        dev.gatehouse.registry.McpHeaders.parameters(schema), "only properties reachable through 'properties' are followed");
    JsonNode args = json("{\"region\":\"us-west1\",\"limit\":42,\"opts\":{\"dry\":true},\"query\":\"q\"}");
    assertNull(mirror(Map.of("region", "us-west1", "LIMIT", "42.0", "Dry", "true")).checkArguments(schema, args),
        "header names are case-insensitive and integers compare as numbers");
    assertEquals("Header mismatch: the Mcp-Param-Region header is required: argument 'region' is set",
        mirror(Map.of("Limit", "42", "Dry", "true")).checkArguments(schema, args).message());
    assertEquals("Header mismatch: Mcp-Param-Dry header value does not match argument 'opts.dry'",
        mirror(Map.of("Region", "us-west1", "Limit", "42", "Dry", "false")).checkArguments(schema, args).message());
    assertNull(mirror(Map.of()).checkArguments(schema, json("{\"query\":\"q\",\"region\":null}")),
        "an argument that is absent or null needs no header");
  }

  static ModernMcp.Mirror mirror(Map<String, String> params) {
    return new ModernMcp.Mirror("2026-07-28", "tools/call", "t", params);
  }

  @Test
  void resultsGetTheirTypeIdentityAndCachingHints() throws Exception {
    ObjectNode info = (ObjectNode) json("{\"name\":\"gatehouse\",\"version\":\"1\"}");
    ObjectNode list = (ObjectNode) json("{\"tools\":[]}");
    ModernMcp.complete("tools/list", list, info);
    assertEquals("complete", list.path("resultType").asText());
    assertEquals(ModernMcp.LIST_TTL_MS, list.path("ttlMs").asLong());
    assertEquals("private", list.path("cacheScope").asText(), "lists are filtered per caller");
    assertEquals("gatehouse", list.path("_meta").path("io.modelcontextprotocol/serverInfo").path("name").asText());

    ObjectNode stricter = (ObjectNode) json("{\"tools\":[],\"ttlMs\":1000,\"cacheScope\":\"public\"}");
    ModernMcp.complete("tools/list", stricter, info);
    assertEquals(1000, stricter.path("ttlMs").asLong(), "an upstream's shorter hint is kept");
    assertEquals("private", stricter.path("cacheScope").asText());

    ObjectNode read = (ObjectNode) json("{\"contents\":[]}");
    ModernMcp.complete("resources/read", read, info);
    assertEquals(0, read.path("ttlMs").asLong(), "a read is stale at once unless its upstream says otherwise");

    ObjectNode call = (ObjectNode) json("{\"content\":[]}");
    ModernMcp.complete("tools/call", call, info);
    assertEquals("complete", call.path("resultType").asText());
    assertFalse(call.has("ttlMs"), "a call result is not cacheable");
  }

  @Test
  void theClientsProtocolFieldsAreNotForwarded() throws Exception {
    ObjectNode p = (ObjectNode) json("{\"name\":\"x\",\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
        + "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/clientInfo\":{\"name\":\"c\"},"
        + "\"progressToken\":7}}");
    ModernMcp.strip(p);
    assertEquals("{\"name\":\"x\",\"_meta\":{\"progressToken\":7}}", p.toString());
    ObjectNode only = params("2026-07-28", "");
    ModernMcp.strip(only);
    assertEquals("{}", only.toString());
  }
}
