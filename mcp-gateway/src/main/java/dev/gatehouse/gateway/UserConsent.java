package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.audit.UserTokenStore;
import dev.gatehouse.http.FetchableUrls;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.registry.McpException;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamTokenEvent;
import dev.gatehouse.registry.UserTokens;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code auth: {mode: user_consent}}: the gateway is each user's OAuth client toward an upstream. A user
 * without a token for it gets a precise error carrying a consent URL (as MCP's URL elicitation); the URL
 * leads through the gateway to the upstream's authorization server (found in the upstream's RFC 9728
 * metadata, or the configured issuer's RFC 8414 / OpenID metadata), authorization code with PKCE, the
 * gateway's Client ID Metadata Document as its {@code client_id} unless one is configured, RFC 8707
 * {@code resource}, RFC 9207 {@code iss} checked; the code comes back to the gateway, which keeps the
 * tokens per (upstream, user), sealed with AES-GCM ({@link TokenSeal}) in the store, refreshes them
 * before they expire, and drops them when the user or an admin revokes them, or a refresh is refused.
 *
 * <p>Consent links and the OAuth {@code state} are sealed too, so any replica with the same key
 * completes a consent another replica started; both expire after {@value #LINK_MINUTES} minutes. No
 * token value is logged, recorded or put in an error.
 */
final class UserConsent implements UserTokens {
  static final String METADATA_PATH = "/oauth/client-metadata.json";
  static final String CONSENT_PATH = "/oauth/consent";
  static final String CALLBACK_PATH = "/oauth/callback";
  static final String USER_PREFIX = "/v1/upstreams/";
  static final int LINK_MINUTES = 10;
  private static final Logger log = LoggerFactory.getLogger(UserConsent.class);
  private static final Duration EARLY = Duration.ofSeconds(30);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Supplier<GatewayConfig> config;
  private final Supplier<URI> base;
  private final Supplier<UserTokenStore> store;
  private final Supplier<TokenSeal> sealer;
  private final BiConsumer<String, UpstreamTokenEvent> events;
  private final Consumer<String> firstConsent;
  private final Clock clock;
  private final OAuthClient oauth = new OAuthClient();
  /** The authorization server of each upstream, found once per auth config. */
  private final Map<String, Server> servers = new ConcurrentHashMap<>();
  /** Refreshes in flight, one per (upstream, principal). */
  private final Map<String, CompletableFuture<Tokens>> refreshing = new ConcurrentHashMap<>();
  /** Access tokens an upstream refused (by SHA-256), so they are refreshed instead of sent again; bounded. */
  private final Map<String, Boolean> refused = java.util.Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > 10_000;
    }
  });

  /** An upstream's authorization server, as its metadata describes it. */
  record Server(UpstreamConfig.Auth auth, String issuer, URI authorization, URI token, boolean issParameter, String resource) {}

  /** What is sealed per (upstream, user): never stored or logged in clear. */
  record Tokens(String access, Optional<String> refresh, long expiresAt, String scope) {
    ObjectNode json() {
      ObjectNode o = Json.object();
      o.put("access_token", access);
      refresh.ifPresent(r -> o.put("refresh_token", r));
      o.put("expires_at", expiresAt);
      o.put("scope", scope);
      return o;
    }

    static Tokens of(JsonNode o) {
      return new Tokens(o.path("access_token").asText(), Optional.ofNullable(o.path("refresh_token").textValue()),
          o.path("expires_at").asLong(0), o.path("scope").asText(""));
    }
  }

  UserConsent(Supplier<GatewayConfig> config, Supplier<URI> base, Supplier<UserTokenStore> store, Supplier<TokenSeal> seal,
      BiConsumer<String, UpstreamTokenEvent> events, Consumer<String> firstConsent, Clock clock) {
    this.config = config;
    this.base = base;
    this.store = store;
    this.sealer = seal;
    this.events = events;
    this.firstConsent = firstConsent;
    this.clock = clock;
  }

  /** The principal's key in the store: {@code subject@issuer}. */
  static String key(Principal p) {
    return p.subject() + "@" + p.issuer();
  }

  private Optional<UpstreamConfig.Auth> consentAuth(String upstream) {
    UpstreamConfig u = config.get().upstreams().get(upstream);
    return u == null || u.auth() == null || !u.auth().mode().equals(UpstreamConfig.Auth.USER_CONSENT) ? Optional.empty() : Optional.of(u.auth());
  }

  private URI upstreamUrl(String upstream) {
    return switch (config.get().upstreams().get(upstream)) {
      case UpstreamConfig.StreamableHttp h -> h.url();
      case UpstreamConfig.Sse s -> s.url();
      case UpstreamConfig.Stdio s -> throw new IllegalStateException("stdio upstream");
    };
  }

  // ---- tokens for calls ----

  @Override
  public CompletableFuture<String> token(String upstream, String principal) {
    Optional<UserTokenStore.Row> row;
    try {
      row = store.get().get(upstream, principal);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE,
          "the tokens users gave for upstream '" + upstream + "' cannot be read now: " + e.getMessage()));
    }
    if (row.isEmpty()) {
      return CompletableFuture.failedFuture(consentRequired(upstream, principal, "you have not connected your account yet"));
    }
    Tokens t;
    try {
      t = Tokens.of(Json.MAPPER.readTree(sealer.get().open(row.get().sealed(), aad(upstream, principal))));
    } catch (IOException | IllegalArgumentException e) {
      // Sealed with another key, or altered: unusable. The user consents again.
      return CompletableFuture.failedFuture(consentRequired(upstream, principal, "the stored consent cannot be opened with this "
          + "gateway's key (GATEHOUSE_TOKEN_KEY changed?)"));
    }
    if (fresh(t)) {
      return CompletableFuture.completedFuture(t.access());
    }
    return refresh(upstream, principal, t).thenApply(Tokens::access);
  }

  private boolean fresh(Tokens t) {
    return (t.expiresAt() == 0 || clock.instant().plus(EARLY).getEpochSecond() < t.expiresAt()) && !refused.containsKey(sha256(t.access()));
  }

  @Override
  public Optional<String> anyToken(String upstream) {
    try {
      Optional<UserTokenStore.Row> row = store.get().latest(upstream);
      if (row.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(token(upstream, row.get().principal()).get(15, TimeUnit.SECONDS));
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  @Override
  public void refused(String upstream, String bearer) {
    refused.put(sha256(bearer), Boolean.TRUE);
  }

  private CompletableFuture<Tokens> refresh(String upstream, String principal, Tokens t) {
    if (t.refresh().isEmpty()) {
      store.get().delete(upstream, principal);
      return CompletableFuture.failedFuture(consentRequired(upstream, principal, "your access expired and the authorization server "
          + "gave no refresh token"));
    }
    String k = upstream + "\0" + principal;
    CompletableFuture<Tokens> mine = new CompletableFuture<>();
    CompletableFuture<Tokens> running = refreshing.putIfAbsent(k, mine);
    if (running != null) {
      return running; // one refresh per user and upstream at a time: the others wait for it
    }
    CompletableFuture.supplyAsync(() -> refreshNow(upstream, principal, t), r -> Thread.ofVirtual().name("user-token-refresh").start(r))
        .whenComplete((next, e) -> {
          refreshing.remove(k, mine);
          if (e == null) {
            mine.complete(next);
          } else {
            mine.completeExceptionally(e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e);
          }
        });
    return mine;
  }

  private Tokens refreshNow(String upstream, String principal, Tokens t) {
    Server s = server(upstream);
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "refresh_token");
    form.put("refresh_token", t.refresh().orElseThrow());
    form.put("resource", s.resource());
    OAuthClient.Answer a = post(s, form);
    if (!a.ok()) {
      String why = a.error();
      if (a.status() == 400 || a.status() == 401) {
        store.get().delete(upstream, principal); // the authorization server will not renew it: consent again
        events.accept(upstream, new UpstreamTokenEvent("failed", UpstreamConfig.Auth.USER_CONSENT,
            "refresh refused for " + principal + ": " + why + "; the user's consent is dropped"));
        throw consentRequired(upstream, principal, "your consent could not be renewed (the authorization server answered " + why + ")");
      }
      throw new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "': the authorization server did not renew your token: "
          + why);
    }
    Tokens next = tokens(a.body(), t.refresh());
    save(upstream, principal, next);
    events.accept(upstream, new UpstreamTokenEvent("issued", UpstreamConfig.Auth.USER_CONSENT, "refreshed for " + principal));
    return next;
  }

  private Tokens tokens(JsonNode answer, Optional<String> previousRefresh) {
    long expiresIn = answer.path("expires_in").asLong(0);
    return new Tokens(answer.path("access_token").asText(),
        Optional.ofNullable(answer.path("refresh_token").textValue()).or(() -> previousRefresh),
        expiresIn > 0 ? clock.instant().getEpochSecond() + expiresIn : 0, answer.path("scope").asText(""));
  }

  private void save(String upstream, String principal, Tokens t) {
    store.get().put(new UserTokenStore.Row(upstream, principal, sealer.get().seal(Json.bytes(t.json()), aad(upstream, principal)), clock.instant()));
  }

  private static byte[] aad(String upstream, String principal) {
    return ("user-token\0" + upstream + "\0" + principal).getBytes(StandardCharsets.UTF_8);
  }

  // ---- consent links ----

  private static final java.util.regex.Pattern CHALLENGED_SCOPE = java.util.regex.Pattern.compile("scope=\"([^\"]{1,1000})\"");
  private static final java.util.regex.Pattern SCOPE_TOKEN = java.util.regex.Pattern.compile("[A-Za-z0-9:._/-]{1,100}");

  @Override
  public Optional<McpException> insufficientScope(String upstream, String principal, String challenge) {
    java.util.regex.Matcher m = CHALLENGED_SCOPE.matcher(challenge);
    if (!m.find() || !isConsentUpstream(upstream)) {
      return Optional.empty();
    }
    java.util.List<String> asked = java.util.Arrays.stream(m.group(1).trim().split("\\s+"))
        .filter(x -> SCOPE_TOKEN.matcher(x).matches()).distinct().limit(10).toList();
    if (asked.isEmpty()) {
      return Optional.empty();
    }
    events.accept(upstream, new UpstreamTokenEvent("refused", UpstreamConfig.Auth.USER_CONSENT,
        "the upstream asked " + principal + " for scope " + String.join(" ", asked) + " (insufficient_scope): consent again"));
    return Optional.of(consentRequired(upstream, principal, "the upstream asks for the scope '" + String.join(" ", asked)
        + "', which your consent does not grant", asked));
  }

  /** The error a user without a usable consent gets: the URL to open, as MCP's URL elicitation. */
  McpException consentRequired(String upstream, String principal, String why) {
    return consentRequired(upstream, principal, why, java.util.List.of());
  }

  /** As above; the consent asks for {@code extraScopes} besides the configured ones (a step-up). */
  McpException consentRequired(String upstream, String principal, String why, java.util.List<String> extraScopes) {
    String url = consentUrl(upstream, principal, extraScopes);
    String message = "Upstream '" + upstream + "' acts for you with your consent: " + why + ". Open " + url
        + " to connect your account (the link is valid for " + LINK_MINUTES + " minutes), then call again.";
    ObjectNode data = Json.object();
    ObjectNode e = data.putArray("elicitations").addObject();
    e.put("mode", "url");
    e.put("elicitationId", "consent-" + upstream + "-" + Long.toHexString(RANDOM.nextLong()));
    e.put("url", url);
    e.put("message", "Connect your account for " + upstream);
    data.put("consent_url", url);
    data.put("upstream", upstream);
    return new McpException(McpException.URL_ELICITATION_REQUIRED, message, data, null);
  }

  String consentUrl(String upstream, String principal, java.util.List<String> extraScopes) {
    ObjectNode ticket = Json.object();
    ticket.put("u", upstream);
    ticket.put("p", principal);
    if (!extraScopes.isEmpty()) {
      ticket.put("s", String.join(" ", extraScopes));
    }
    ticket.put("exp", clock.instant().plus(Duration.ofMinutes(LINK_MINUTES)).getEpochSecond());
    return base.get().resolve(CONSENT_PATH) + "?ticket=" + sealer.get().seal(Json.bytes(ticket), "consent-ticket".getBytes(StandardCharsets.UTF_8));
  }

  private JsonNode opened(String sealed, String purpose) {
    try {
      JsonNode o = Json.MAPPER.readTree(sealer.get().open(sealed, purpose.getBytes(StandardCharsets.UTF_8)));
      if (o.path("exp").asLong(0) < clock.instant().getEpochSecond()) {
        throw new IllegalArgumentException("expired");
      }
      return o;
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("this link is invalid or has expired; call the tool again for a new one");
    }
  }

  /** {@code GET /oauth/consent?ticket=…}: where the user's browser goes; on to the authorization server. */
  URI start(String ticket) {
    JsonNode t = opened(ticket, "consent-ticket");
    String upstream = t.path("u").asText();
    Server s = server(upstream);
    String verifier = random(32);
    ObjectNode state = Json.object();
    state.put("u", upstream);
    state.put("p", t.path("p").asText());
    state.put("v", verifier);
    state.put("exp", clock.instant().plus(Duration.ofMinutes(LINK_MINUTES)).getEpochSecond());
    Map<String, String> q = new LinkedHashMap<>();
    q.put("response_type", "code");
    q.put("client_id", clientId(s.auth()));
    q.put("redirect_uri", redirectUri());
    java.util.LinkedHashSet<String> scopes = new java.util.LinkedHashSet<>(s.auth().scopes());
    if (!t.path("s").asText("").isEmpty()) {
      scopes.addAll(java.util.List.of(t.path("s").asText().split(" "))); // a step-up: what the upstream asked for
    }
    if (!scopes.isEmpty()) {
      q.put("scope", String.join(" ", scopes));
    }
    q.put("state", sealer.get().seal(Json.bytes(state), "consent-state".getBytes(StandardCharsets.UTF_8)));
    q.put("code_challenge", Base64.getUrlEncoder().withoutPadding().encodeToString(sha256Bytes(verifier)));
    q.put("code_challenge_method", "S256");
    q.put("resource", s.resource());
    return URI.create(s.authorization() + (s.authorization().getRawQuery() == null ? "?" : "&") + OAuthClient.form(q));
  }

  /**
   * {@code GET /oauth/callback?code&state[&iss]}: the code redeemed and the tokens kept; the answer says
   * for whom, in words (the page the user sees).
   */
  String finish(String code, String state, String iss, String error) {
    JsonNode st = opened(state, "consent-state");
    String upstream = st.path("u").asText();
    String principal = st.path("p").asText();
    Server s = server(upstream);
    if (error != null) {
      events.accept(upstream, new UpstreamTokenEvent("failed", UpstreamConfig.Auth.USER_CONSENT, "consent of " + principal + " refused: " + error));
      throw new IllegalArgumentException("the authorization server did not grant access: " + error);
    }
    if ((iss != null && !iss.equals(s.issuer())) || (iss == null && s.issParameter())) {
      // RFC 9207: an answer from another authorization server (mix-up) is not taken.
      events.accept(upstream, new UpstreamTokenEvent("failed", UpstreamConfig.Auth.USER_CONSENT, "consent of " + principal
          + " refused: the answer's iss (" + iss + ") is not " + s.issuer()));
      throw new IllegalArgumentException("the answer came from another issuer than " + s.issuer() + " (RFC 9207 iss check)");
    }
    if (code == null || code.isEmpty()) {
      throw new IllegalArgumentException("the answer carries no code");
    }
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "authorization_code");
    form.put("code", code);
    form.put("redirect_uri", redirectUri());
    form.put("code_verifier", st.path("v").asText());
    form.put("resource", s.resource());
    OAuthClient.Answer a = post(s, form);
    if (!a.ok()) {
      String why = a.error();
      events.accept(upstream, new UpstreamTokenEvent("failed", UpstreamConfig.Auth.USER_CONSENT, "code of " + principal + " not redeemed: " + why));
      throw new IllegalArgumentException("the authorization server did not redeem the code: " + why);
    }
    boolean first = store.get().latest(upstream).isEmpty();
    save(upstream, principal, tokens(a.body(), Optional.empty()));
    events.accept(upstream, new UpstreamTokenEvent("consented", UpstreamConfig.Auth.USER_CONSENT, "for " + principal));
    log.info("upstream '{}': {} connected their account", upstream, principal);
    if (first) {
      firstConsent.accept(upstream); // the gateway's own connection can now list its tools
    }
    return "Connected " + upstream + " for " + principal + ". You can close this window and call the tool again.";
  }

  /** Revokes the tokens of {@code principal} for {@code upstream}; whether there were any. */
  boolean revoke(String upstream, String principal, String by) {
    boolean had = store.get().delete(upstream, principal);
    if (had) {
      events.accept(upstream, new UpstreamTokenEvent("revoked", UpstreamConfig.Auth.USER_CONSENT, "for " + principal + " by " + by));
    }
    return had;
  }

  /** Who has consented for {@code upstream} (the admin view): principals and when, never a token. */
  ObjectNode consents(String upstream) {
    ObjectNode out = Json.object();
    out.put("upstream", upstream);
    var arr = out.putArray("consents");
    for (UserTokenStore.Row r : store.get().all(upstream)) {
      ObjectNode o = arr.addObject();
      o.put("principal", r.principal());
      o.put("updated_at", r.updatedAt().toString());
    }
    return out;
  }

  /** The Client ID Metadata Document the gateway serves as its {@code client_id}. */
  ObjectNode clientMetadata() {
    ObjectNode o = Json.object();
    o.put("client_id", base.get().resolve(METADATA_PATH).toString());
    o.put("client_name", "Gatehouse");
    o.putArray("redirect_uris").add(redirectUri());
    o.putArray("grant_types").add("authorization_code").add("refresh_token");
    o.putArray("response_types").add("code");
    o.put("token_endpoint_auth_method", "none");
    return o;
  }

  private String clientId(UpstreamConfig.Auth a) {
    return a.clientId() != null ? a.clientId() : base.get().resolve(METADATA_PATH).toString();
  }

  private String redirectUri() {
    return base.get().resolve(CALLBACK_PATH).toString();
  }

  boolean isConsentUpstream(String upstream) {
    return consentAuth(upstream).isPresent();
  }

  // ---- the authorization server ----

  /** The upstream's authorization server, discovered once per auth config. */
  Server server(String upstream) {
    UpstreamConfig.Auth auth = consentAuth(upstream).orElseThrow(() -> new IllegalArgumentException(
        "upstream '" + upstream + "' does not act with users' consent (auth.mode: user_consent)"));
    Server known = servers.get(upstream);
    if (known != null && known.auth().equals(auth)) {
      return known;
    }
    boolean allowHttp = auth.allowHttp();
    URI upstreamUrl = upstreamUrl(upstream);
    String resource = auth.resource() != null ? auth.resource().toString() : upstreamUrl.toString();
    String issuer;
    if (auth.issuer() != null) {
      issuer = auth.issuer().toString();
    } else {
      // RFC 9728: the protected resource names its authorization server.
      URI prm = upstreamUrl.resolve("/.well-known/oauth-protected-resource" + (upstreamUrl.getRawPath() == null ? "" : upstreamUrl.getRawPath()));
      JsonNode meta = get(FetchableUrls.check("protected resource metadata", prm.toString(), allowHttp), "the upstream's protected resource metadata");
      issuer = meta.path("authorization_servers").path(0).asText("");
      if (issuer.isEmpty()) {
        throw new IllegalStateException("upstream '" + upstream + "': its protected resource metadata (" + prm + ") names no authorization server");
      }
      if (auth.resource() == null && meta.hasNonNull("resource")) {
        resource = meta.get("resource").asText();
      }
    }
    URI iss = FetchableUrls.check("authorization server", issuer, allowHttp);
    JsonNode as = null;
    for (URI candidate : UpstreamConfig.Auth.metadataCandidates(iss)) {
      try {
        as = get(FetchableUrls.check("authorization server metadata", candidate.toString(), allowHttp), "the authorization server's metadata");
        break;
      } catch (IllegalStateException e) {
        as = null; // try the next place
      }
    }
    if (as == null || !issuer.equals(as.path("issuer").asText())) {
      throw new IllegalStateException("upstream '" + upstream + "': no metadata of authorization server " + issuer
          + (as == null ? "" : " (its metadata names issuer '" + as.path("issuer").asText() + "')"));
    }
    Server s = new Server(auth, issuer, FetchableUrls.check("authorization_endpoint", as.path("authorization_endpoint").asText(), allowHttp),
        FetchableUrls.check("token_endpoint", as.path("token_endpoint").asText(), allowHttp),
        as.path("authorization_response_iss_parameter_supported").asBoolean(false), resource);
    servers.put(upstream, s);
    return s;
  }

  private JsonNode get(URI uri, String what) {
    try {
      return oauth.getJson(uri, what);
    } catch (IOException e) {
      throw new IllegalStateException(e.getMessage().startsWith(what) ? e.getMessage() : what + " (" + uri + ") could not be read: "
          + e.getClass().getSimpleName());
    }
  }

  private OAuthClient.Answer post(Server s, Map<String, String> form) {
    try {
      return oauth.postForm(s.token(), form, clientId(s.auth()), Optional.ofNullable(s.auth().clientSecret()));
    } catch (IOException e) {
      throw new McpException(McpException.UPSTREAM_UNAVAILABLE, "the authorization server's token endpoint did not answer: "
          + e.getClass().getSimpleName());
    }
  }

  private static String random(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static byte[] sha256Bytes(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(String s) {
    return java.util.HexFormat.of().formatHex(sha256Bytes(s));
  }
}
