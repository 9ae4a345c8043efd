package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/**
 * What a {@link Call} uses, as its door decoded it: names and URIs as the client spelled them,
 * parameters as sent. The chain's resolve step turns it into an upstream (or a model) and the name
 * policies see.
 */
sealed interface Target {

  /** The name or URI as the client used it (for records and messages; clipped there). */
  String requested();

  /** What kind of thing this is, as metrics and audit label it. */
  String kind();

  /** What the client sent for this target: its parameters (a subscription: its URI; a model call: the body). */
  com.fasterxml.jackson.databind.JsonNode params();

  /**
   * {@code tools/call}: {@code params} as received ({@code name}, {@code arguments}, {@code _meta},
   * {@code task}); {@code invalid} says why the door could not decode the arguments (a model's
   * arguments string that is not JSON), which the chain refuses and records.
   */
  record Tool(String name, ObjectNode params, Optional<String> invalid) implements Target {
    Tool(String name, ObjectNode params) {
      this(name, params, Optional.empty());
    }

    @Override
    public String requested() {
      return name;
    }

    @Override
    public String kind() {
      return "tool";
    }
  }

  /** {@code resources/read}. */
  record Resource(String uri, ObjectNode params) implements Target {
    @Override
    public String requested() {
      return uri;
    }

    @Override
    public String kind() {
      return "resource";
    }
  }

  /** {@code prompts/get}. */
  record Prompt(String name, ObjectNode params) implements Target {
    @Override
    public String requested() {
      return name;
    }

    @Override
    public String kind() {
      return "prompt";
    }
  }

  /**
   * {@code tasks/get}, {@code tasks/update} or {@code tasks/cancel} (MCP 2026-07-28, tasks extension) of
   * a task a tool call created upstream: {@code handle} is the task id the gateway gave the client.
   */
  record Task(String method, String handle, ObjectNode params) implements Target {
    @Override
    public String requested() {
      return handle;
    }

    @Override
    public String kind() {
      return "task";
    }
  }

  /** {@code completion/complete} of a prompt argument or a resource template. */
  record Completion(boolean prompt, String ref, ObjectNode params) implements Target {
    @Override
    public String requested() {
      return ref;
    }

    @Override
    public String kind() {
      return "completion";
    }
  }

  /** {@code resources/subscribe}: decided and recorded like a read. */
  record Subscribe(String uri) implements Target {
    @Override
    public String requested() {
      return uri;
    }

    @Override
    public ObjectNode params() {
      ObjectNode p = Json.object();
      p.put("uri", uri);
      return p;
    }

    @Override
    public String kind() {
      return "resource";
    }
  }

  /**
   * A model call through the router: {@code body} is the chat.completions request (the door adds the
   * tools offered to the model once the call is decided, see {@link Call#prepare}).
   */
  record Model(String model, ObjectNode body) implements Target {
    @Override
    public String requested() {
      return model;
    }

    @Override
    public ObjectNode params() {
      return body;
    }

    @Override
    public String kind() {
      return "llm";
    }
  }
}
