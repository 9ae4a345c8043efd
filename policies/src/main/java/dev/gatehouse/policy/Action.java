package dev.gatehouse.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

/**
 * What a principal wants to do, named the way policies name it: tools and prompts by their federated
 * name ({@code <server>__<name>}), resources by their federated URI ({@code <server>+<uri>}), models
 * as {@code provider/model}. The gateway always passes those forms; policies never see an
 * upstream's own names.
 */
public sealed interface Action {

  /** {@code "tool"}, {@code "resource"}, {@code "prompt"} or {@code "model"}: also the CEL variable {@code kind}. */
  String kind();

  /** The name policies match: the federated tool or prompt name, the federated URI, or the model. */
  String target();

  /**
   * A tool call, or (for list filtering) a tool as such.
   *
   * @param server the upstream server that owns the tool
   * @param name the federated name, {@code <server>__<tool>}
   * @param arguments the call's arguments as sent (a JSON object); {@link MissingNode} when there are
   *     none. Not copied: it must not change while a decision is being made.
   */
  record Tool(String server, String name, JsonNode arguments) implements Action {
    public Tool {
      requireText("server", server);
      requireText("name", name);
      arguments = arguments == null ? MissingNode.getInstance() : arguments;
    }

    /** A tool without arguments, as {@link PolicyEngine#visible} needs it. */
    public Tool(String server, String name) {
      this(server, name, MissingNode.getInstance());
    }

    @Override
    public String kind() {
      return "tool";
    }

    @Override
    public String target() {
      return name;
    }
  }

  /**
   * Reading a resource.
   *
   * @param server the upstream server that owns the resource
   * @param uri the federated URI, {@code <server>+<original uri>}
   */
  record Resource(String server, String uri) implements Action {
    public Resource {
      requireText("server", server);
      requireText("uri", uri);
    }

    @Override
    public String kind() {
      return "resource";
    }

    @Override
    public String target() {
      return uri;
    }
  }

  /**
   * Getting a prompt.
   *
   * @param server the upstream server that owns the prompt
   * @param name the federated name, {@code <server>__<prompt>}
   */
  record Prompt(String server, String name) implements Action {
    public Prompt {
      requireText("server", server);
      requireText("name", name);
    }

    @Override
    public String kind() {
      return "prompt";
    }

    @Override
    public String target() {
      return name;
    }
  }

  /**
   * Calling a model.
   *
   * @param model {@code provider/model}, after alias resolution
   */
  record Model(String model) implements Action {
    public Model {
      requireText("model", model);
    }

    @Override
    public String kind() {
      return "model";
    }

    @Override
    public String target() {
      return model;
    }
  }

  /**
   * Opening an MCP session ({@code initialize}, or a legacy SSE stream). No pattern grants or denies it:
   * it only counts against the {@code requests_per_minute} of the rules that apply to the principal
   * (see {@link PolicyEngine#admit}).
   */
  record Session() implements Action {
    @Override
    public String kind() {
      return "session";
    }

    @Override
    public String target() {
      return "session";
    }
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(field + ": missing (expected: a non-empty name)");
    }
  }
}
