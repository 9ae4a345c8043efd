package dev.gatehouse.registry;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How to reach one upstream MCP server. The YAML form is a map entry under {@code upstreams:}; the
 * entry's key is the server name and {@code transport} selects the record.
 *
 * <p>Equality is structural: the registry reconnects an upstream on hot reload only when its config
 * record changed.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "transport")
@JsonSubTypes({
  @JsonSubTypes.Type(value = UpstreamConfig.Stdio.class, name = "stdio"),
  @JsonSubTypes.Type(value = UpstreamConfig.StreamableHttp.class, name = "streamable-http"),
  @JsonSubTypes.Type(value = UpstreamConfig.Sse.class, name = "sse")
})
public sealed interface UpstreamConfig {

  /** Argument words that suggest a credential follows. */
  Pattern SECRET_HINT = Pattern.compile("key|token|secret|password|passwd|credential|auth");

  /** Server names: letters, digits and single dashes or underscores; they prefix tool names. */
  Pattern NAME = Pattern.compile("^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$");

  /** Default for {@code max_message_bytes}: the largest single message accepted from an upstream. */
  int DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

  Timeouts timeouts();

  boolean enabled();

  /** {@code integrity:} under an upstream: its own tool-integrity mode, over the top-level one. */
  record Integrity(@JsonProperty("mode") String mode) {
    public Integrity {
      if (mode == null || !java.util.Set.of("off", "warn", "pin").contains(mode)) {
        throw new IllegalArgumentException("integrity.mode: '" + mode + "' (expected: off, warn or pin)");
      }
    }
  }

  /**
   * {@code auth:} under an HTTP upstream: how the gateway gets the bearer token it sends that upstream
   * (never the caller's own). {@code client_credentials}: the gateway's own token from the
   * authorization server (OAuth 2.0 client credentials grant), cached and refreshed before it expires.
   * {@code token_exchange}: each caller's call carries a token the authorization server issued for the
   * caller in exchange for the caller's validated access token (RFC 8693), with this upstream as
   * audience; the gateway's own requests (connecting, listing) use its client credentials token.
   * {@code user_consent}: each user's calls carry that user's own token, which the gateway got as the
   * user's OAuth client after a one-time consent (authorization code with PKCE; the gateway keeps the
   * tokens, see {@link UserTokens}); the gateway's own requests use the most recent consenting user's.
   *
   * @param mode {@code client_credentials}, {@code token_exchange} or {@code user_consent}
   * @param tokenUrl the token endpoint; or leave it out and give {@code issuer}
   * @param issuer the authorization server, whose metadata (RFC 8414, or OpenID Connect discovery) names
   *     the token endpoint
   * @param clientId the gateway's client id there
   * @param clientSecret its secret ({@code ${env:…}}); never logged nor shown; not with {@code private_key_jwt}
   * @param clientAuth {@code client_secret_basic} (default), {@code client_secret_post}, or
   *     {@code private_key_jwt} (RFC 7523: a JWT signed with {@code private_key_file})
   * @param scopes the scopes asked for
   * @param audience an {@code audience} parameter, for servers that take one
   * @param resource the upstream as an RFC 8707 resource indicator
   * @param allowHttp plain http for a loopback token endpoint or issuer (tests, a local authorization
   *     server); otherwise https only: the client secret travels there
   * @param privateKeyFile for {@code private_key_jwt}: a PEM file with the client's PKCS#8 private key
   *     (RSA, signed RS256; or EC P-256, signed ES256)
   * @param keyId for {@code private_key_jwt}: the {@code kid} the authorization server knows the key by
   * @param actorToken for {@code token_exchange}: also send the gateway's own client credentials token as
   *     the {@code actor_token}, so that an authorization server that supports delegation names the
   *     gateway in the issued token's {@code act} claim
   */
  record Auth(
      @JsonProperty("mode") String mode,
      @JsonProperty("token_url") URI tokenUrl,
      @JsonProperty("issuer") URI issuer,
      @JsonProperty("client_id") String clientId,
      @JsonProperty("client_secret") String clientSecret,
      @JsonProperty("client_auth") String clientAuth,
      @JsonProperty("scopes") List<String> scopes,
      @JsonProperty("audience") String audience,
      @JsonProperty("resource") URI resource,
      @JsonProperty("allow_http") Boolean allowHttp,
      @JsonProperty("private_key_file") String privateKeyFile,
      @JsonProperty("key_id") String keyId,
      @JsonProperty("actor_token") Boolean actorToken) {
    public static final String CLIENT_CREDENTIALS = "client_credentials";
    public static final String TOKEN_EXCHANGE = "token_exchange";
    public static final String USER_CONSENT = "user_consent";

    public Auth {
      if (!CLIENT_CREDENTIALS.equals(mode) && !TOKEN_EXCHANGE.equals(mode) && !USER_CONSENT.equals(mode)) {
        throw new IllegalArgumentException("auth.mode: '" + mode + "' (expected: " + CLIENT_CREDENTIALS + ", " + TOKEN_EXCHANGE
            + " or " + USER_CONSENT + ")");
      }
      boolean consent = USER_CONSENT.equals(mode);
      if (consent && tokenUrl != null) {
        throw new IllegalArgumentException("auth.token_url: not with user_consent (the authorization server's metadata names its "
            + "endpoints: give issuer, or nothing to find it in the upstream's protected resource metadata)");
      }
      if (tokenUrl == null && issuer == null && !consent) {
        throw new IllegalArgumentException("auth: token_url or issuer is required (where the gateway gets its token)");
      }
      allowHttp = allowHttp != null && allowHttp;
      if (tokenUrl != null) {
        tokenUrl = dev.gatehouse.http.FetchableUrls.check("auth.token_url", tokenUrl.toString(), allowHttp);
      }
      if (issuer != null) {
        issuer = dev.gatehouse.http.FetchableUrls.check("auth.issuer", issuer.toString(), allowHttp);
      }
      if ((clientId == null || clientId.isBlank()) && !consent) {
        throw new IllegalArgumentException("auth.client_id: required");
      }
      if (clientId != null && clientId.isBlank()) {
        clientId = null; // user_consent without one: the gateway's client ID metadata document names it
      }
      clientAuth = clientAuth == null ? "client_secret_basic" : clientAuth;
      if (!clientAuth.equals("client_secret_basic") && !clientAuth.equals("client_secret_post") && !clientAuth.equals("private_key_jwt")) {
        throw new IllegalArgumentException("auth.client_auth: '" + clientAuth
            + "' (expected: client_secret_basic, client_secret_post or private_key_jwt)");
      }
      if (clientAuth.equals("private_key_jwt")) {
        if (privateKeyFile == null || privateKeyFile.isBlank()) {
          throw new IllegalArgumentException("auth.private_key_file: required with client_auth: private_key_jwt (a PKCS#8 PEM file)");
        }
        if (clientSecret != null) {
          throw new IllegalArgumentException("auth.client_secret: set with client_auth: private_key_jwt (expected: one of them)");
        }
      } else if ((clientSecret == null || clientSecret.isEmpty()) && !consent) {
        throw new IllegalArgumentException("auth.client_secret: required (e.g. \"${env:UPSTREAM_CLIENT_SECRET}\"), or client_auth: private_key_jwt");
      }
      actorToken = actorToken != null && actorToken;
      if (actorToken && !TOKEN_EXCHANGE.equals(mode)) {
        throw new IllegalArgumentException("auth.actor_token: only with mode: token_exchange");
      }
      scopes = scopes == null ? List.of() : List.copyOf(scopes);
      for (String scope : scopes) {
        if (scope == null || scope.isBlank() || scope.contains(" ")) {
          throw new IllegalArgumentException("auth.scopes: '" + scope + "' (expected: scope names without spaces)");
        }
      }
    }

    /** Where an authorization server's metadata may be: RFC 8414 (path inserted, then appended), OpenID Connect discovery. */
    public static List<URI> metadataCandidates(URI issuer) {
      return UpstreamTokens.candidates(issuer);
    }

    /** Never the secret: configs are logged and compared. */
    @Override
    public String toString() {
      return "auth{" + mode + " client_id=" + clientId + " at " + (tokenUrl != null ? tokenUrl : issuer != null ? issuer : "(discovered)") + (scopes.isEmpty() ? "" : " scopes=" + scopes) + "}";
    }
  }

  /** The {@code auth:} block of an HTTP upstream, or null. */
  default Auth auth() {
    return null;
  }

  /** This upstream's tool-integrity mode, if it sets one ({@code off}, {@code warn} or {@code pin}). */
  default java.util.Optional<String> integrityMode() {
    return java.util.Optional.ofNullable(integrity()).map(Integrity::mode);
  }

  /** The {@code integrity:} block of this upstream, or null. */
  Integrity integrity();

  /**
   * The largest message (one JSON-RPC message on stdio or in an event, or a whole JSON response body)
   * accepted from this upstream; a larger answer fails its call with a precise error and the
   * upstream stays usable. Sized so that answers fit the recommended heap (jvm.options).
   */
  int maxMessageBytes();

  private static int checkMaxMessageBytes(Integer v) {
    if (v == null) {
      return DEFAULT_MAX_MESSAGE_BYTES;
    }
    if (v < 1024 || v > 512 * 1024 * 1024) {
      throw new IllegalArgumentException("max_message_bytes: " + v + " (expected: 1024..536870912)");
    }
    return v;
  }

  /** An {@code auth:} block sets the Authorization header itself: a configured one would be ambiguous. */
  private static void checkAuthHeaders(Auth auth, Map<String, String> headers) {
    if (auth != null && headers.keySet().stream().anyMatch(h -> h.equalsIgnoreCase("Authorization"))) {
      throw new IllegalArgumentException("headers.Authorization: set together with auth (expected: one of them; auth sends the "
          + "token it gets as Authorization)");
    }
  }

  /** Validates a server name against {@link #NAME} and the tool-name separator. */
  static String checkName(String name, String separator) {
    if (name == null || !NAME.matcher(name).matches() || name.endsWith("_")) {
      throw new IllegalArgumentException(
          "upstream name: '" + name + "' (expected: letters, digits, '-' or single '_', starting with a letter or digit)");
    }
    if (name.contains(separator)) {
      throw new IllegalArgumentException(
          "upstream name: '" + name + "' contains the tool-name separator '" + separator + "'");
    }
    if (name.length() > 32) {
      throw new IllegalArgumentException("upstream name: '" + name + "' is " + name.length() + " characters (expected: at most 32)");
    }
    return name;
  }

  /** A child process speaking newline-delimited JSON-RPC on stdin/stdout. Never run through a shell. */
  record Stdio(
      @JsonProperty("command") String command,
      @JsonProperty("args") List<String> args,
      @JsonProperty("env") Map<String, String> env,
      @JsonProperty("cwd") String cwd,
      @JsonProperty("enabled") Boolean enabledFlag,
      @JsonProperty("timeouts") Timeouts timeouts,
      @JsonProperty("max_message_bytes") Integer maxMessageBytesOrNull,
      @JsonProperty("protocol_version") String protocolVersion,
      @JsonProperty("integrity") Integrity integrity)
      implements UpstreamConfig {
    public Stdio {
      maxMessageBytesOrNull = checkMaxMessageBytes(maxMessageBytesOrNull);
      if (protocolVersion != null && !protocolVersion.equals(StreamableHttp.STATELESS) && !protocolVersion.equals(StreamableHttp.SESSION)) {
        throw new IllegalArgumentException("protocol_version: '" + protocolVersion + "' (expected: " + StreamableHttp.STATELESS
            + " for a server of that revision, or " + StreamableHttp.SESSION + ", the default for stdio)");
      }
      if (command == null || command.isBlank()) {
        throw new IllegalArgumentException("command: must name the program to start (expected: e.g. \"npx\")");
      }
      args = args == null ? List.of() : List.copyOf(args);
      env = env == null ? Map.of() : Map.copyOf(env);
      enabledFlag = enabledFlag == null || enabledFlag;
      timeouts = timeouts == null ? Timeouts.defaults() : timeouts;
    }

    public Stdio(String command, List<String> args) {
      this(command, args, Map.of(), null, true, Timeouts.defaults());
    }

    public Stdio(String command, List<String> args, Map<String, String> env, String cwd, Boolean enabled, Timeouts timeouts) {
      this(command, args, env, cwd, enabled, timeouts, null, null, null);
    }

    /** This upstream with another {@code max_message_bytes}. */
    public Stdio withMaxMessageBytes(int bytes) {
      return new Stdio(command, args, env, cwd, enabledFlag, timeouts, bytes, protocolVersion, integrity);
    }

    /** This upstream spoken to in {@code version} ({@code 2026-07-28}: statelessly, no initialize). */
    public Stdio withProtocolVersion(String version) {
      return new Stdio(command, args, env, cwd, enabledFlag, timeouts, maxMessageBytesOrNull, version, integrity);
    }

    /**
     * Whether the server is spoken to in the stateless revision. Only when configured: a 2025 server
     * over stdio is not asked {@code server/discover} before {@code initialize}, which it does not expect.
     */
    public boolean stateless() {
      return StreamableHttp.STATELESS.equals(protocolVersion);
    }

    @Override
    public int maxMessageBytes() {
      return maxMessageBytesOrNull;
    }

    @Override
    public boolean enabled() {
      return enabledFlag == null || enabledFlag;
    }

    /**
     * Renders the command line for logs. Env values are never shown, and neither is an argument that
     * looks like a credential ({@code --api-key=…}, or the word after {@code --token}).
     */
    @Override
    public String toString() {
      StringBuilder b = new StringBuilder("stdio:").append(command);
      boolean hideNext = false;
      for (String a : args) {
        String lower = a.toLowerCase(java.util.Locale.ROOT);
        boolean secretFlag = SECRET_HINT.matcher(lower).find();
        if (hideNext) {
          b.append(" ***");
        } else if (secretFlag && a.contains("=")) {
          b.append(' ').append(a, 0, a.indexOf('=') + 1).append("***");
        } else {
          b.append(' ').append(a);
        }
        hideNext = secretFlag && a.startsWith("-") && !a.contains("=");
      }
      return b.append(env.isEmpty() ? "" : " env=" + env.keySet()).toString();
    }
  }

  /** An MCP Streamable HTTP endpoint. */
  record StreamableHttp(
      @JsonProperty("url") URI url,
      @JsonProperty("headers") Map<String, String> headers,
      @JsonProperty("enabled") Boolean enabledFlag,
      @JsonProperty("timeouts") Timeouts timeouts,
      @JsonProperty("max_message_bytes") Integer maxMessageBytesOrNull,
      @JsonProperty("protocol_version") String protocolVersion,
      @JsonProperty("integrity") Integrity integrity,
      @JsonProperty("auth") Auth auth)
      implements UpstreamConfig {
    /** The stateless revision, spoken to upstreams that serve it. */
    public static final String STATELESS = "2026-07-28";
    /** The newest session-based revision: {@code protocol_version: 2025-11-25} skips the probe. */
    public static final String SESSION = "2025-11-25";

    public StreamableHttp {
      maxMessageBytesOrNull = checkMaxMessageBytes(maxMessageBytesOrNull);
      url = checkHttpUrl(url);
      headers = headers == null ? Map.of() : Map.copyOf(headers);
      enabledFlag = enabledFlag == null || enabledFlag;
      timeouts = timeouts == null ? Timeouts.defaults() : timeouts;
      if (protocolVersion != null && !protocolVersion.equals(STATELESS) && !protocolVersion.equals(SESSION)) {
        throw new IllegalArgumentException("protocol_version: '" + protocolVersion + "' (expected: " + STATELESS + " or "
            + SESSION + ", or leave it out to use 2026-07-28 when the server offers it)");
      }
      checkAuthHeaders(auth, headers);
    }

    public StreamableHttp(URI url) {
      this(url, Map.of(), true, Timeouts.defaults());
    }

    public StreamableHttp(URI url, Map<String, String> headers, Boolean enabled, Timeouts timeouts) {
      this(url, headers, enabled, timeouts, null, null, null, null);
    }

    public StreamableHttp(URI url, Map<String, String> headers, Boolean enabled, Timeouts timeouts, Integer maxMessageBytes) {
      this(url, headers, enabled, timeouts, maxMessageBytes, null, null, null);
    }

    public StreamableHttp(URI url, Map<String, String> headers, Boolean enabled, Timeouts timeouts, Integer maxMessageBytes,
        String protocolVersion) {
      this(url, headers, enabled, timeouts, maxMessageBytes, protocolVersion, null, null);
    }

    /** This upstream with its own tool-integrity mode. */
    public StreamableHttp withIntegrity(String mode) {
      return new StreamableHttp(url, headers, enabledFlag, timeouts, maxMessageBytesOrNull, protocolVersion, new Integrity(mode), auth);
    }

    /** This upstream with {@code auth}. */
    public StreamableHttp withAuth(Auth auth) {
      return new StreamableHttp(url, headers, enabledFlag, timeouts, maxMessageBytesOrNull, protocolVersion, integrity, auth);
    }

    /** Whether the stateless revision is tried first ({@code server/discover}): unless the session-based one is configured. */
    public boolean tryStateless() {
      return !SESSION.equals(protocolVersion);
    }

    /** Whether only the stateless revision will do (configured): no falling back to {@code initialize}. */
    public boolean statelessOnly() {
      return STATELESS.equals(protocolVersion);
    }

    @Override
    public int maxMessageBytes() {
      return maxMessageBytesOrNull;
    }

    @Override
    public boolean enabled() {
      return enabledFlag == null || enabledFlag;
    }

    @Override
    public String toString() {
      return "streamable-http:" + url + (headers.isEmpty() ? "" : " headers=" + headers.keySet()) + (auth == null ? "" : " " + auth);
    }
  }

  /** A legacy HTTP+SSE endpoint (protocol 2024-11-05): GET opens the stream, POSTs go to the announced endpoint. */
  record Sse(
      @JsonProperty("url") URI url,
      @JsonProperty("headers") Map<String, String> headers,
      @JsonProperty("enabled") Boolean enabledFlag,
      @JsonProperty("timeouts") Timeouts timeouts,
      @JsonProperty("max_message_bytes") Integer maxMessageBytesOrNull,
      @JsonProperty("integrity") Integrity integrity,
      @JsonProperty("auth") Auth auth)
      implements UpstreamConfig {
    public Sse {
      maxMessageBytesOrNull = checkMaxMessageBytes(maxMessageBytesOrNull);
      url = checkHttpUrl(url);
      headers = headers == null ? Map.of() : Map.copyOf(headers);
      enabledFlag = enabledFlag == null || enabledFlag;
      timeouts = timeouts == null ? Timeouts.defaults() : timeouts;
      checkAuthHeaders(auth, headers);
    }

    public Sse(URI url) {
      this(url, Map.of(), true, Timeouts.defaults());
    }

    public Sse(URI url, Map<String, String> headers, Boolean enabled, Timeouts timeouts) {
      this(url, headers, enabled, timeouts, null, null, null);
    }

    @Override
    public int maxMessageBytes() {
      return maxMessageBytesOrNull;
    }

    @Override
    public boolean enabled() {
      return enabledFlag == null || enabledFlag;
    }

    @Override
    public String toString() {
      return "sse:" + url + (headers.isEmpty() ? "" : " headers=" + headers.keySet()) + (auth == null ? "" : " " + auth);
    }
  }

  /**
   * Time limits for one upstream. {@code connect}: process start or HTTP connect plus the MCP
   * handshake; {@code call}: one request's answer; {@code health}: the ping interval (zero turns
   * health pings off).
   */
  record Timeouts(
      @JsonProperty("connect") Duration connect,
      @JsonProperty("call") Duration call,
      @JsonProperty("health") Duration health) {
    public Timeouts {
      connect = positive("timeouts.connect", connect, Duration.ofSeconds(30));
      call = positive("timeouts.call", call, Duration.ofSeconds(60));
      health = health == null ? Duration.ofSeconds(30) : health;
      if (health.isNegative()) {
        throw new IllegalArgumentException("timeouts.health: " + health + " (expected: >= 0)");
      }
    }

    public static Timeouts defaults() {
      return new Timeouts(null, null, null);
    }

    public Timeouts withCall(Duration call) {
      return new Timeouts(connect, call, health);
    }

    public Timeouts withConnect(Duration connect) {
      return new Timeouts(connect, call, health);
    }

    public Timeouts withHealth(Duration health) {
      return new Timeouts(connect, call, health);
    }

    private static Duration positive(String field, Duration value, Duration fallback) {
      if (value == null) {
        return fallback;
      }
      if (value.isZero() || value.isNegative()) {
        throw new IllegalArgumentException(field + ": " + value + " (expected: > 0)");
      }
      return value;
    }
  }

  private static URI checkHttpUrl(URI url) {
    if (url == null) {
      throw new IllegalArgumentException("url: missing (expected: an absolute http or https URL)");
    }
    String scheme = url.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
      throw new IllegalArgumentException("url: '" + url + "' (expected: an absolute http or https URL)");
    }
    return url;
  }
}
