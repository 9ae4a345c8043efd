package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.audit.DefinitionStore;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.ToolNames;
import dev.gatehouse.registry.UpstreamCatalog;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tool integrity: every tool, prompt and resource template an upstream lists is fingerprinted (SHA-256
 * of its canonical JSON, as the upstream sent it). The first fingerprint seen is approved (trust on
 * first use); a later, different one is a change: served and reported in {@code warn} mode, withheld
 * from every list and refused to every call in {@code pin} mode, until an admin approves it. Each
 * definition is also checked for poisoning ({@link Poisoning}); in {@code block} a definition with
 * findings is withheld until approved. Approvals persist in the audit store's database.
 *
 * <p>Doors ask {@link #withheld} (lists) and {@link #refusal} (calls): lookups in an immutable snapshot,
 * rebuilt when the catalog or a decision changes.
 */
final class Integrity {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.integrity");

  /** A definition: its upstream, kind ({@code tool}, {@code prompt}, {@code resource_template}) and the upstream's own name. */
  record Key(String server, String kind, String name) {
    String label() {
      return server + "/" + kind + "/" + name;
    }
  }

  /** A definition as served now: its federated name, fingerprint, canonical JSON and poisoning findings. */
  record Seen(Key key, String federated, String hash, String definition, List<Poisoning.Finding> findings) {}

  /** A definition that differs from the approved one. */
  record Change(Seen now, String approvedHash, String approvedDefinition, List<String> diff, Instant since) {}

  /** What the doors see: what is withheld, and why (by federated name per kind). */
  private record State(Map<String, String> withheldTools, Map<String, String> withheldPrompts, Map<String, String> withheldTemplates,
      Map<Key, Seen> seen, Map<Key, Change> changes) {
    static final State EMPTY = new State(Map.of(), Map.of(), Map.of(), Map.of(), Map.of());
  }

  private final Supplier<GatewayConfig> config;
  private final Supplier<AuditRecorder> audit;
  private final GatewayMetrics metrics;
  private final Map<Key, DefinitionStore.Approved> approved = new ConcurrentHashMap<>();
  /** Definitions an admin rejected, by key and fingerprint: withheld whatever the mode. */
  private final Set<String> rejected = ConcurrentHashMap.newKeySet();
  private volatile State state = State.EMPTY;
  private volatile Map<String, UpstreamCatalog> last = Map.of();
  private volatile boolean loaded;
  /** Who approved a definition the lock file pins. */
  static final String LOCK_FILE = "lock-file";
  /** The fingerprints {@code integrity.lock_file} pins (null without one), and its name for messages. */
  private volatile Map<Key, String> lock;
  private volatile String lockName = "";
  private volatile String lockConfigured;
  private final java.nio.file.Path baseDir;

  Integrity(Supplier<GatewayConfig> config, Supplier<AuditRecorder> audit, GatewayMetrics metrics, java.nio.file.Path baseDir) {
    this.baseDir = baseDir;
    this.config = config;
    String own = config.get().integrity().store();
    this.ownStore = own == null ? null : dev.gatehouse.audit.AuditStore.open(dev.gatehouse.audit.AuditSettings.defaults().withStore(own),
        baseDir, new dev.gatehouse.audit.AuditStore.Listener() {});
    this.audit = audit;
    this.metrics = metrics;
    load(); // what was approved before this process started, before any upstream is seen
    metrics.gauge("gatehouse.integrity.pending", "Upstream definitions changed since approval, awaiting a decision",
        () -> state.changes().size());
    metrics.gauge("gatehouse.integrity.withheld", "Upstream definitions withheld from clients (pinned changes, blocked findings)",
        () -> state.withheldTools().size() + state.withheldPrompts().size() + state.withheldTemplates().size());
  }

  /** {@code integrity.store}, when approvals live apart from the audit chain (opened at start). */
  private final dev.gatehouse.audit.AuditStore ownStore;

  private DefinitionStore store() {
    return ownStore != null ? ownStore.definitions() : audit.get().definitions();
  }

  /** Closes {@code integrity.store}, if one was opened. */
  void close() {
    flush();
    writes.shutdown();
    if (ownStore != null) {
      ownStore.close();
    }
  }

  private void load() {
    if (loaded) {
      return;
    }
    for (DefinitionStore.Approved a : store().all()) {
      if (a.kind().startsWith(REJECTED)) {
        if (!a.hash().isEmpty()) {
          rejected.add(new Key(a.server(), a.kind().substring(REJECTED.length()), a.name()).label() + '\0' + a.hash());
        }
      } else {
        approved.put(new Key(a.server(), a.kind(), a.name()), a);
      }
    }
    loaded = true;
  }

  private IntegritySettings.Mode mode(String server) {
    GatewayConfig c = config.get();
    return Optional.ofNullable(c.upstreams().get(server)).flatMap(u -> u.integrityMode()).map(IntegritySettings.Mode::parse)
        .orElse(c.integrity().mode());
  }

  /**
   * Looks at the catalog as the upstreams now list it: fingerprints, approves what is new, reports what
   * changed and what looks poisoned. Returns whether what is withheld changed (clients need
   * {@code list_changed}). Blocking (the store): called off the request path, on catalog changes.
   */
  /** The lock file is read again at the next {@link #observe} (a config reload). */
  void rereadLock() {
    lockConfigured = null;
    lock = null;
  }

  synchronized boolean observe(Map<String, UpstreamCatalog> servers) {
    last = servers;
    String configured = config.get().integrity().lockFile();
    if (configured != null && lock == null || !java.util.Objects.equals(configured, lockConfigured)) {
      lockConfigured = configured;
      lock = configured == null ? null : readLock(baseDir.resolve(configured));
      lockName = configured == null ? "" : configured;
    }
    return rebuild(true);
  }

  private boolean rebuild(boolean report) {
    GatewayConfig c = config.get();
    String sep = c.server().toolNameSeparator();
    IntegritySettings settings = c.integrity();
    Map<String, Set<String>> toolsByServer = new HashMap<>();
    for (UpstreamCatalog u : last.values()) {
      Set<String> names = new HashSet<>();
      for (ObjectNode t : u.tools()) {
        String n = t.path("name").isTextual() ? t.get("name").asText() : null;
        if (n != null && n.length() >= 5 && (n.contains("_") || n.contains("-"))) {
          names.add(n); // a distinctive original name
        }
        names.add(ToolNames.federated(u.server(), sep, n == null ? "" : n));
      }
      toolsByServer.put(u.server(), names);
    }
    Map<String, String> tools = new HashMap<>();
    Map<String, String> prompts = new HashMap<>();
    Map<String, String> templates = new HashMap<>();
    Map<Key, Seen> seen = new LinkedHashMap<>();
    Map<Key, Change> changes = new LinkedHashMap<>();
    State before = state;
    for (UpstreamCatalog u : last.values()) {
      IntegritySettings.Mode mode = mode(u.server());
      if (mode == IntegritySettings.Mode.OFF) {
        continue;
      }
      Set<String> others = new HashSet<>();
      toolsByServer.forEach((server, names) -> {
        if (!server.equals(u.server())) {
          others.addAll(names);
        }
      });
      for (String kind : List.of("tool", "prompt", "resource_template")) {
        List<ObjectNode> defs = switch (kind) {
          case "tool" -> u.tools();
          case "prompt" -> u.prompts();
          default -> u.resourceTemplates();
        };
        for (ObjectNode def : defs) {
          String field = kind.equals("resource_template") ? "uriTemplate" : "name";
          String name = def.path(field).isTextual() ? def.get(field).asText() : null;
          if (name == null) {
            continue;
          }
          Key key = new Key(u.server(), kind, name);
          String canonical = canonical(def);
          String hash = sha256(canonical);
          String federated = kind.equals("resource_template") ? ToolNames.federatedUri(u.server(), name) : ToolNames.federated(u.server(), sep, name);
          List<Poisoning.Finding> findings = settings.poisoning() == IntegritySettings.Poison.OFF ? List.of()
              : Poisoning.check(def, kind.equals("tool") ? others : Set.of(), settings.maxDescriptionChars());

          Seen s = new Seen(key, federated, hash, canonical, findings);
          seen.put(key, s);
          DefinitionStore.Approved a = approved.get(key);
          Map<Key, String> pinned = lock;
          boolean decided = a != null && !a.approvedBy().equals("first-seen") && !a.approvedBy().equals(LOCK_FILE);
          String expected;
          List<String> differences = null;
          if (pinned != null && !decided) {
            // The lock file says what is approved, unless an admin decided since.
            expected = pinned.get(key);
            if (expected == null) {
              differences = List.of("not in the lock file " + lockName + " (fingerprint " + hash + ")");
            } else if (!expected.equals(hash)) {
              differences = a != null && a.hash().equals(expected) ? diff(a.definition(), canonical)
                  : List.of("fingerprint " + hash + " differs from the lock file " + lockName + " (" + expected + ")");
            } else if (a == null || !a.hash().equals(hash)) {
              a = new DefinitionStore.Approved(key.server(), kind, name, hash, canonical, Instant.now(), LOCK_FILE);
              approve(a);
            }
          } else {
            if (a == null) {
              a = new DefinitionStore.Approved(key.server(), kind, name, hash, canonical, Instant.now(), "first-seen");
              approve(a);
            }
            expected = a.hash();
            if (!expected.equals(hash)) {
              differences = diff(a.definition(), canonical);
            }
          }
          String why = null;
          if (differences != null) {
            Change prior = before.changes().get(key);
            Change ch = prior != null && prior.now().hash().equals(hash) ? prior
                : new Change(s, expected == null ? "" : expected, a == null ? "" : a.definition(), differences, Instant.now());
            changes.put(key, ch);
            if (report && ch != prior) {
              reportChange(ch, mode);
            }
            if (mode == IntegritySettings.Mode.PIN) {
              why = "its definition changed since it was approved (" + String.join("; ", ch.diff())
                  + ") and waits for an admin's approval (integrity mode pin)";
            }
          }
          final DefinitionStore.Approved approvedNow = a;
          boolean explicitlyApproved = approvedNow != null && approvedNow.hash().equals(hash)
              && !approvedNow.approvedBy().equals("first-seen") && !approvedNow.approvedBy().equals(LOCK_FILE);
          if (!findings.isEmpty()) {
            Seen prior = before.seen().get(key);
            if (report && (prior == null || !prior.hash().equals(hash))) {
              reportFindings(s);
            }
            if (why == null && settings.poisoning() == IntegritySettings.Poison.BLOCK && !explicitlyApproved) {
              Poisoning.Finding f = findings.get(0);
              why = "its " + f.field() + " looks poisoned (rule " + f.rule() + " at " + f.start() + ".." + f.end() + ": \""
                  + f.excerpt() + "\") and waits for an admin's approval (integrity poisoning block)";
            }
          }
          if (why == null && rejected.contains(key.label() + '\0' + hash)) {
            why = "an admin rejected this definition";
          }
          if (why != null) {
            (kind.equals("tool") ? tools : kind.equals("prompt") ? prompts : templates).put(federated, why);
          }
        }
      }
    }
    State next = new State(Map.copyOf(tools), Map.copyOf(prompts), Map.copyOf(templates), Map.copyOf(seen), Map.copyOf(changes));
    state = next;
    return !before.withheldTools().equals(next.withheldTools()) || !before.withheldPrompts().equals(next.withheldPrompts())
        || !before.withheldTemplates().equals(next.withheldTemplates());
  }

  /** Approvals are in force at once; the store gets them in order, off the caller's thread. */
  private final java.util.concurrent.ExecutorService writes = java.util.concurrent.Executors.newSingleThreadExecutor(
      Thread.ofVirtual().name("gatehouse-integrity").factory());

  private void approve(DefinitionStore.Approved a) {
    approved.put(new Key(a.server(), a.kind(), a.name()), a);
    writes.execute(() -> {
      try {
        store().approve(a);
      } catch (RuntimeException e) {
        log.warn("integrity: {} could not be stored as approved: {}", a.server() + "/" + a.kind() + "/" + a.name(), e.getMessage());
      }
    });
  }

  /** Rejections are kept in the same table, under {@code rejected/<kind>} (an empty hash: none stands). */
  static final String REJECTED = "rejected/";

  private void remember(DefinitionStore.Approved row) {
    writes.execute(() -> {
      try {
        store().approve(row);
      } catch (RuntimeException e) {
        log.warn("integrity: a decision on {} could not be stored: {}", row.server() + "/" + row.name(), e.getMessage());
      }
    });
  }

  /** Waits for approvals on their way to the store (shutdown, tests). */
  void flush() {
    try {
      writes.submit(() -> { }).get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("integrity: approvals not all stored: {}", e.toString());
    }
  }

  private void reportChange(Change ch, IntegritySettings.Mode mode) {
    metrics.integrityEvent("changed", ch.now().key().server());
    log.warn("integrity: {} changed since it was approved ({}): {}", ch.now().key().label(),
        mode == IntegritySettings.Mode.PIN ? "withheld until approved" : "served (mode warn)", String.join("; ", ch.diff()));
    audit.get().integrity(ch.now().key().label(), "changed", String.join("; ", ch.diff()), "gatehouse", "gatehouse");
  }

  private void reportFindings(Seen s) {
    for (Poisoning.Finding f : s.findings()) {
      metrics.integrityEvent("flagged:" + f.rule(), s.key().server());
    }
    String text = describe(s.findings());
    log.warn("integrity: {} looks poisoned: {}", s.key().label(), text);
    audit.get().integrity(s.key().label(), "flagged", text, "gatehouse", "gatehouse");
  }

  static String describe(List<Poisoning.Finding> findings) {
    List<String> out = new ArrayList<>();
    for (Poisoning.Finding f : findings) {
      out.add(f.rule() + " in " + f.field() + " [" + f.start() + ".." + f.end() + "]: \"" + f.excerpt() + "\"");
    }
    return String.join("; ", out);
  }

  /**
   * Why a call of {@code action} is refused, if it is, judged on {@code current} (the catalog the call
   * was resolved against): a catalog this has not looked at yet is looked at first, so no call gets
   * through between a changed definition's arrival and its judgement.
   */
  Optional<String> refusal(Action action, Map<String, UpstreamCatalog> current) {
    if (current != last) {
      observe(current);
    }
    return refusal(action);
  }

  /** Whether a list should leave {@code action} out (a tool or prompt withheld), and why. */
  Optional<String> refusal(Action action) {
    State s = state;
    String why = switch (action) {
      case Action.Tool t -> s.withheldTools().get(t.name());
      case Action.Prompt p -> s.withheldPrompts().get(p.name());
      default -> null;
    };
    return Optional.ofNullable(why).map(w -> (action instanceof Action.Tool ? "Tool '" : "Prompt '") + name(action) + "' is withheld: " + w);
  }

  private static String name(Action a) {
    return a instanceof Action.Tool t ? t.name() : a instanceof Action.Prompt p ? p.name() : "";
  }

  /** Whether a list should leave out {@code action}. */
  boolean withheld(Action action) {
    State s = state;
    return switch (action) {
      case Action.Tool t -> s.withheldTools().containsKey(t.name());
      case Action.Prompt p -> s.withheldPrompts().containsKey(p.name());
      default -> false;
    };
  }

  /** Whether the resource template with this federated URI template is withheld. */
  boolean withheldTemplate(String federatedUriTemplate) {
    return state.withheldTemplates().containsKey(federatedUriTemplate);
  }

  // ---------------------------------------------------------------- the admin's view and decisions

  /** Changes and findings, for {@code GET /admin/integrity}. */
  ObjectNode report() {
    State s = state;
    ObjectNode out = Json.object();
    var changes = out.putArray("changes");
    for (Change c : s.changes().values()) {
      ObjectNode o = changes.addObject();
      key(o, c.now().key());
      o.put("federated_name", c.now().federated());
      o.put("approved_hash", c.approvedHash());
      o.put("hash", c.now().hash());
      o.put("since", c.since().toString());
      o.put("withheld", isWithheld(s, c.now()));
      c.diff().forEach(o.putArray("diff")::add);
    }
    var findings = out.putArray("findings");
    for (Seen seen : s.seen().values()) {
      for (Poisoning.Finding f : seen.findings()) {
        ObjectNode o = findings.addObject();
        key(o, seen.key());
        o.put("hash", seen.hash());
        o.put("rule", f.rule());
        o.put("field", f.field());
        o.put("start", f.start());
        o.put("end", f.end());
        o.put("excerpt", f.excerpt());
        o.put("withheld", isWithheld(s, seen));
      }
    }
    ObjectNode withheld = out.putObject("withheld");
    s.withheldTools().forEach(withheld.putObject("tools")::put);
    s.withheldPrompts().forEach(withheld.putObject("prompts")::put);
    s.withheldTemplates().forEach(withheld.putObject("resource_templates")::put);
    out.put("fingerprints", s.seen().size());
    return out;
  }

  private static boolean isWithheld(State s, Seen seen) {
    return switch (seen.key().kind()) {
      case "tool" -> s.withheldTools().containsKey(seen.federated());
      case "prompt" -> s.withheldPrompts().containsKey(seen.federated());
      default -> s.withheldTemplates().containsKey(seen.federated());
    };
  }

  private static void key(ObjectNode o, Key k) {
    o.put("server", k.server());
    o.put("kind", k.kind());
    o.put("name", k.name());
  }

  /** An admin's decision on the definition now listed for {@code key}, which must have {@code hash}. */
  enum Decision { APPROVE, REJECT }

  /**
   * Approves or rejects what {@code key} is now listed as; {@code hash} guards against deciding on a
   * definition that changed again meanwhile. Returns whether what is withheld changed.
   *
   * @throws IllegalArgumentException naming why the decision cannot be made
   */
  synchronized boolean decide(Key key, String hash, Decision decision, Principal by) {
    Seen s = state.seen().get(key);
    if (s == null) {
      throw new IllegalArgumentException("no definition " + key.label() + " is listed now");
    }
    if (!s.hash().equals(hash)) {
      throw new IllegalArgumentException(key.label() + " is listed with fingerprint " + s.hash() + ", not " + hash
          + " (it changed again: look at it before deciding)");
    }
    String who = by.subject() + " (" + by.issuer() + ")";
    if (decision == Decision.APPROVE) {
      rejected.remove(key.label() + '\0' + hash);
      approve(new DefinitionStore.Approved(key.server(), key.kind(), key.name(), hash, s.definition(), Instant.now(), who));
      remember(new DefinitionStore.Approved(key.server(), REJECTED + key.kind(), key.name(), "", "", Instant.now(), who)); // no rejection stands
    } else {
      rejected.add(key.label() + '\0' + hash);
      remember(new DefinitionStore.Approved(key.server(), REJECTED + key.kind(), key.name(), hash, s.definition(), Instant.now(), who));
    }
    audit.get().integrity(key.label(), decision == Decision.APPROVE ? "approved" : "rejected", "fingerprint " + hash,
        by.subject(), by.issuer());
    metrics.integrityEvent(decision == Decision.APPROVE ? "approved" : "rejected", key.server());
    log.info("integrity: {} {} by {}", key.label(), decision == Decision.APPROVE ? "approved" : "rejected", who);
    return rebuild(false);
  }

  // ---------------------------------------------------------------- the lock file

  /**
   * The fingerprints in a lock file ({@link #lockFile}); an unreadable one pins nothing it cannot
   * read: every definition is then "not in the lock file" (withheld in {@code pin}).
   */
  private static Map<Key, String> readLock(java.nio.file.Path file) {
    Map<Key, String> out = new HashMap<>();
    try {
      JsonNode root = Json.MAPPER.readTree(file.toFile());
      root.path("definitions").properties().forEach(server -> server.getValue().properties().forEach(kind ->
          kind.getValue().properties().forEach(def -> out.put(new Key(server.getKey(), kind.getKey(), def.getKey()), def.getValue().asText()))));
      log.info("integrity: {} definitions pinned by {}", out.size(), file);
    } catch (java.io.IOException | RuntimeException e) {
      log.error("integrity: the lock file {} cannot be read ({}): nothing is pinned by it", file, e.getMessage());
    }
    return Map.copyOf(out);
  }

  /** Every definition the upstreams list now, by fingerprint: what {@code gatehouse integrity lock} writes. */
  static ObjectNode lockFile(Map<String, UpstreamCatalog> servers, String version) {
    ObjectNode root = Json.object();
    root.put("version", 1);
    root.put("generated_by", "gatehouse " + version);
    ObjectNode defs = root.putObject("definitions");
    new TreeMap<>(servers).forEach((name, u) -> {
      ObjectNode server = defs.putObject(name);
      for (String kind : List.of("tool", "prompt", "resource_template")) {
        TreeMap<String, String> hashes = new TreeMap<>();
        List<ObjectNode> list = kind.equals("tool") ? u.tools() : kind.equals("prompt") ? u.prompts() : u.resourceTemplates();
        String field = kind.equals("resource_template") ? "uriTemplate" : "name";
        for (ObjectNode def : list) {
          if (def.path(field).isTextual()) {
            hashes.put(def.get(field).asText(), sha256(canonical(def)));
          }
        }
        if (!hashes.isEmpty()) {
          hashes.forEach(server.putObject(kind)::put);
        }
      }
    });
    return root;
  }

  // ---------------------------------------------------------------- fingerprints and diffs

  /** The canonical JSON of a definition: object members sorted by name, recursively; no whitespace. */
  static String canonical(JsonNode node) {
    return Json.write(sorted(node));
  }

  private static JsonNode sorted(JsonNode node) {
    if (node.isObject()) {
      ObjectNode out = Json.object();
      TreeMap<String, JsonNode> fields = new TreeMap<>();
      node.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
      fields.forEach((k, v) -> out.set(k, sorted(v)));
      return out;
    }
    if (node.isArray()) {
      var out = Json.MAPPER.createArrayNode();
      node.forEach(v -> out.add(sorted(v)));
      return out;
    }
    return node;
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** What changed between two canonical definitions, readably: at most 12 paths, values clipped. */
  static List<String> diff(String before, String after) {
    List<String> out = new ArrayList<>();
    try {
      diff("", Json.MAPPER.readTree(before), Json.MAPPER.readTree(after), out);
    } catch (java.io.IOException e) {
      out.add("the definition changed");
    }
    if (out.size() > 12) {
      int more = out.size() - 12;
      out = new ArrayList<>(out.subList(0, 12));
      out.add("… and " + more + " more");
    }
    return out;
  }

  private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
    if (a != null && b != null && a.isObject() && b.isObject()) {
      Set<String> keys = new java.util.TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k), out);
      }
      return;
    }
    if (a == null) {
      out.add(path + " added: " + clip(b));
    } else if (b == null) {
      out.add(path + " removed (was " + clip(a) + ")");
    } else if (!a.equals(b)) {
      out.add(path + ": " + clip(a) + " → " + clip(b));
    }
  }

  private static String clip(JsonNode v) {
    String s = v.isTextual() ? "\"" + v.asText() + "\"" : Json.write(v);
    return s.length() > 120 ? s.substring(0, 117) + "…" : s;
  }
}
