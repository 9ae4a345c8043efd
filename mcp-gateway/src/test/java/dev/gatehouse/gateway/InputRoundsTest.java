package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class InputRoundsTest {
  final AtomicLong now = new AtomicLong(1_000);
  final InputRounds rounds = new InputRounds(now::get, 100, 2);

  static McpSession session() {
    return session(Principal.anonymous());
  }

  static McpSession session(Principal who) {
    ObjectNode meta = Json.object();
    meta.putObject(ModernMcp.CAPABILITIES_KEY).putObject("elicitation");
    return McpSession.stateless("r1", new McpSession.Federated(), who,
        new ModernMcp.Mirror(ModernMcp.REVISION, "tools/call", "t", Map.of()), meta);
  }

  @Test
  void oneCallerCannotTakeEveryRound() {
    for (int i = 0; i < 2; i++) {
      InputRounds.Round r = rounds.open(session(), "tools/call", "t");
      r.first(id(i), new CompletableFuture<>());
      assertFalse(r.ask("elicitation/create", Json.object()).isDone());
    }
    InputRounds.Round third = rounds.open(session(), "tools/call", "t");
    third.first(id(3), new CompletableFuture<>());
    assertTrue(third.ask("elicitation/create", Json.object()).isCompletedExceptionally(), "past this caller's share");
    Principal other = new Principal("someone-else", Principal.API_KEY_ISSUER, java.util.Optional.empty(), null, null, null, null,
        Principal.Kind.API_KEY, java.util.Optional.empty());
    InputRounds.Round theirs = rounds.open(session(other), "tools/call", "t");
    theirs.first(id(4), new CompletableFuture<>());
    assertFalse(theirs.ask("elicitation/create", Json.object()).isDone(), "another caller still gets a round");
    assertEquals(3, rounds.size());
  }

  static JsonNode id(int n) {
    return Json.MAPPER.getNodeFactory().numberNode(n);
  }

  static ObjectNode result(JsonNode id, String text) {
    ObjectNode r = Json.object();
    r.putArray("content").addObject().put("type", "text").put("text", text);
    return JsonRpc.result(id, r);
  }

  @Test
  void anUpstreamsRequestAnswersTheClientInputRequiredAndItsRetryCarriesTheAnswerBack() {
    McpSession s = session();
    InputRounds.Round round = rounds.open(s, "tools/call", "t");
    CompletableFuture<ObjectNode> call = new CompletableFuture<>();
    CompletableFuture<ObjectNode> first = round.first(id(1), call);
    assertFalse(first.isDone(), "nothing asked, nothing answered yet");

    ObjectNode params = Json.object().put("message", "name?");
    CompletableFuture<JsonNode> upstreamWaits = round.ask("elicitation/create", params);
    ObjectNode interim = first.join();
    assertEquals(1, interim.path("id").asInt());
    JsonNode result = interim.path("result");
    assertEquals("input_required", result.path("resultType").asText());
    assertEquals("elicitation/create", result.path("inputRequests").path("input-1").path("method").asText());
    assertEquals(round.state(), result.path("requestState").asText());
    assertTrue(rounds.find(round.state(), s.ownerKey()).isPresent());
    assertTrue(rounds.find(round.state(), "somebody else").isEmpty(), "a round is its caller's alone");

    ObjectNode answer = Json.object().put("action", "accept");
    CompletableFuture<ObjectNode> retry = round.resume(id(2), Json.object().set("input-1", answer));
    assertEquals(answer, upstreamWaits.join(), "the upstream gets the client's answer");
    assertFalse(retry.isDone());
    call.complete(result(id(1), "done"));
    ObjectNode last = retry.join();
    assertEquals(2, last.path("id").asInt(), "the retry is answered under its own id");
    assertEquals("done", last.path("result").path("content").path(0).path("text").asText());
    assertTrue(rounds.find(round.state(), s.ownerKey()).isEmpty(), "a finished round is gone");
  }

  @Test
  void aRequestAskedBeforeTheClientWaitsIsNotLostAndUnansweredOnesAreAskedAgain() {
    McpSession s = session();
    InputRounds.Round round = rounds.open(s, "tools/call", "t");
    CompletableFuture<JsonNode> a = round.ask("elicitation/create", Json.object());
    CompletableFuture<ObjectNode> first = round.first(id(1), new CompletableFuture<>());
    assertEquals("input_required", first.join().path("result").path("resultType").asText());
    CompletableFuture<ObjectNode> retry = round.resume(id(2), Json.object());
    assertTrue(retry.join().path("result").path("inputRequests").has("input-1"), "still open, so asked again");
    assertFalse(a.isDone());
  }

  @Test
  void aClientThatNeverComesBackHasItsCallCancelled() {
    McpSession s = session();
    InputRounds.Round round = rounds.open(s, "tools/call", "t");
    round.first(id(1), new CompletableFuture<>());
    CompletableFuture<JsonNode> upstreamWaits = round.ask("elicitation/create", Json.object());
    now.addAndGet(1_000); // past the wait
    rounds.open(session(), "tools/call", "t"); // any new round sweeps
    assertTrue(s.closed(), "the expired round's request is closed, which cancels its upstream call");
    assertTrue(rounds.find(round.state(), s.ownerKey()).isEmpty());
    assertTrue(upstreamWaits.isCompletedExceptionally(), "the upstream hears that no answer will come");
  }

  @Test
  void aRefusalAnswersTheClientAndEndsTheCall() {
    McpSession s = session();
    InputRounds.Round round = rounds.open(s, "tools/call", "t");
    CompletableFuture<ObjectNode> first = round.first(id(4), new CompletableFuture<>());
    round.refuse(ModernMcp.missingCapability("sampling/createMessage", new String[] {"sampling"}));
    ObjectNode error = first.join();
    assertEquals(4, error.path("id").asInt());
    assertEquals(-32021, error.path("error").path("code").asInt());
    assertTrue(error.path("error").path("data").path("requiredCapabilities").path("sampling").isObject());
    assertTrue(s.closed());
  }
}
