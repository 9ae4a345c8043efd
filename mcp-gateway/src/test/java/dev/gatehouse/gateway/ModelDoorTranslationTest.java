package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.RouterException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Messages and Responses doors' translations to and from the chain's chat shape, edge cases included. */
@Timeout(10)
class ModelDoorTranslationTest {

  private static ObjectNode json(String s) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(s.replace('\'', '"'));
  }

  @Test
  void messagesToolResultsComeBeforeTheUsersOtherBlocksAndThinkingIsAnthropicsAlone() throws Exception {
    ObjectNode chat = MessagesDoor.toChat(json("{'model':'m','max_tokens':100,'system':[{'type':'text','text':'be brief',"
        + "'cache_control':{'type':'ephemeral'}}],'thinking':{'type':'enabled','budget_tokens':1024},'stop_sequences':['END'],"
        + "'metadata':{'user_id':'u1'},'tool_choice':{'type':'any','disable_parallel_tool_use':true},"
        + "'tools':[{'name':'calc','input_schema':{'type':'object'}}],'messages':["
        + "{'role':'user','content':'what is 1+1'},"
        + "{'role':'assistant','content':[{'type':'thinking','thinking':'hmm','signature':'s'},{'type':'text','text':'Let me see.'},"
        + "{'type':'tool_use','id':'toolu_1','name':'calc','input':{'expression':'1+1'}}]},"
        + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_1','content':[{'type':'text','text':'2'}]},"
        + "{'type':'text','text':'and now?'},{'type':'image','source':{'type':'base64','media_type':'image/png','data':'AAAA'}}]}]}"));
    ArrayNode m = (ArrayNode) chat.get("messages");
    assertEquals("system", m.get(0).path("role").asText());
    assertEquals("ephemeral", m.get(0).path("content").path(0).path("cache_control").path("type").asText());
    assertEquals("Let me see.", m.get(2).path("content").asText());
    assertEquals("{\"expression\":\"1+1\"}", m.get(2).path("tool_calls").path(0).path("function").path("arguments").asText());
    assertEquals("tool", m.get(3).path("role").asText(), "the result follows the call");
    assertEquals("toolu_1", m.get(3).path("tool_call_id").asText());
    assertEquals("2", m.get(3).path("content").asText());
    assertEquals("user", m.get(4).path("role").asText());
    assertEquals("data:image/png;base64,AAAA", m.get(4).path("content").path(1).path("image_url").path("url").asText());
    assertEquals("required", chat.path("tool_choice").asText());
    assertFalse(chat.path("parallel_tool_calls").asBoolean(true));
    assertEquals("END", chat.path("stop").path(0).asText());
    assertEquals("u1", chat.path("user").asText());
    assertFalse(chat.has("thinking"), "not a chat field: a provider that does not know it would refuse the request");
    assertEquals(1024, chat.path("provider_options").path("anthropic").path("thinking").path("budget_tokens").asInt());
  }

  @Test
  void aMessagesToolErrorIsMarkedAndMalformedArgumentsSurviveTheWayBack() throws Exception {
    ObjectNode chat = MessagesDoor.toChat(json("{'model':'m','max_tokens':5,'messages':[{'role':'user','content':["
        + "{'type':'tool_result','tool_use_id':'t','is_error':true,'content':'boom'}]}]}"));
    assertEquals("Error: boom", chat.path("messages").path(0).path("content").asText());
    assertEquals(1, chat.path("messages").size(), "no empty user turn after the results");
    ObjectNode message = MessagesDoor.message(json("{'id':'chatcmpl-1','model':'x','choices':[{'message':{'role':'assistant',"
        + "'content':null,'tool_calls':[{'id':'c1','type':'function','function':{'name':'f','arguments':'{not json'}}]},"
        + "'finish_reason':'tool_calls'}],'usage':{'prompt_tokens':10,'completion_tokens':3,'prompt_tokens_details':{'cached_tokens':4}}}"));
    assertTrue(message.path("id").asText().startsWith("msg_"));
    assertEquals("tool_use", message.path("stop_reason").asText());
    assertEquals("{not json", message.path("content").path(0).path("input").path("_raw").asText());
    assertEquals(6, message.path("usage").path("input_tokens").asInt(), "cached tokens are reported apart, as Anthropic does");
    assertEquals(4, message.path("usage").path("cache_read_input_tokens").asInt());
  }

  @Test
  void aMessagesStreamClosesEachBlockBeforeTheNextAndEndsWithUsage() throws Exception {
    MessagesDoor.Events events = new MessagesDoor.Events();
    StringBuilder out = new StringBuilder();
    for (String chunk : List.of(
        "{'id':'c','model':'x','choices':[{'index':0,'delta':{'role':'assistant','content':'Hi'}}]}",
        "{'id':'c','model':'x','choices':[{'index':0,'delta':{'tool_calls':[{'index':0,'id':'t1','function':{'name':'f','arguments':'[1,'}}]}}]}",
        "{'id':'c','model':'x','choices':[{'index':0,'delta':{'tool_calls':[{'index':0,'function':{'arguments':'2]'}}]},'finish_reason':'tool_calls'}]}",
        "{'id':'c','model':'x','choices':[],'usage':{'prompt_tokens':5,'completion_tokens':7}}")) {
      out.append(new String(events.chunk(json(chunk)), StandardCharsets.UTF_8));
    }
    out.append(new String(events.done(), StandardCharsets.UTF_8));
    List<String> types = new ArrayList<>();
    for (String line : out.toString().split("\n")) {
      if (line.startsWith("event: ")) {
        types.add(line.substring(7));
      }
    }
    assertEquals(List.of("message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start",
        "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"), types);
    assertTrue(out.toString().contains("\"stop_reason\":\"tool_use\""), out.toString());
    assertTrue(out.toString().contains("\"output_tokens\":7"), out.toString());
    String failed = new String(new MessagesDoor.Events().failed(new RouterException(502, "api_error", "upstream_error", "gone")),
        StandardCharsets.UTF_8);
    assertTrue(failed.startsWith("event: error\n") && failed.contains("\"type\":\"api_error\""), failed);
  }

  @Test
  void responsesInputItemsBecomeOneAssistantTurnPerRunOfCallsAndToolMessages() throws Exception {
    ArrayNode out = Json.MAPPER.createArrayNode();
    ResponsesDoor.input(json("{'x':[{'role':'user','content':[{'type':'input_text','text':'go'},"
        + "{'type':'input_image','image_url':'https://x/y.png','detail':'low'}]},"
        + "{'type':'reasoning','id':'r1','summary':[]},"
        + "{'type':'function_call','call_id':'c1','name':'a','arguments':'{}'},"
        + "{'type':'function_call','call_id':'c2','name':'b','arguments':'{}'},"
        + "{'type':'function_call_output','call_id':'c1','output':'one'},"
        + "{'type':'function_call_output','call_id':'c2','output':[{'type':'input_text','text':'two'}]}]}").get("x"), out);
    assertEquals(4, out.size(), out.toString());
    assertEquals("low", out.get(0).path("content").path(1).path("image_url").path("detail").asText());
    assertEquals(2, out.get(1).path("tool_calls").size(), "parallel calls share one assistant turn");
    assertEquals("two", out.get(3).path("content").asText());
    ChatHandler.Refused r = assertThrows(ChatHandler.Refused.class,
        () -> ResponsesDoor.input(json("{'x':[{'role':'user','content':[{'type':'input_image','file_id':'f'}]}]}").get("x"), out));
    assertTrue(r.getMessage().contains("file ids"), r.getMessage());
  }

  @Test
  void aResponseCutByTheOutputLimitIsIncomplete() throws Exception {
    JsonNode r = ResponsesDoor.response("resp_1", 1, json("{'model':'m','max_output_tokens':3}"), json("{'model':'x','choices':[{"
        + "'message':{'role':'assistant','content':'a b c'},'finish_reason':'length'}],'usage':{'prompt_tokens':2,'completion_tokens':3}}"));
    assertEquals("incomplete", r.path("status").asText());
    assertEquals("max_output_tokens", r.path("incomplete_details").path("reason").asText());
    assertEquals(3, r.path("max_output_tokens").asInt());
    assertEquals(5, r.path("usage").path("total_tokens").asInt());
  }

  @Test
  void theResponseStoreKeepsEachPrincipalsOwnAndEvictsTheOldestOverItsShare() {
    ResponseStore store = new ResponseStore(8_000, java.time.Duration.ofHours(1));
    ObjectNode turn = Json.object().put("role", "user").put("content", "x".repeat(300));
    store.put("alice", "r1", null, List.of(turn), Json.object());
    store.put("alice", "r2", "r1", List.of(turn), Json.object());
    assertEquals(2, store.conversation("alice", "r2", new ArrayList<>()).size(), "both turns, oldest first");
    assertEquals(null, store.conversation("bob", "r2", new ArrayList<>()), "another principal's id is unknown");
    for (int i = 3; i < 10; i++) {
      store.put("alice", "r" + i, null, List.of(turn), Json.object());
    }
    assertEquals(null, store.response("alice", "r1"), "alice's share is an eighth: her oldest went first");
    store.put("bob", "b1", null, List.of(turn), Json.object());
    assertTrue(store.response("bob", "b1") != null);
  }
}
