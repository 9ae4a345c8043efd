package dev.gatehouse.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSetParseException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.gatehouse.identity.AuthResult.Failure;
import dev.gatehouse.identity.AuthResult.Reason;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.locks.ReentrantLock;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies tokens of one issuer: its Nimbus processor (algorithm allow-list, keys, {@code typ},
 * claims) and its claim mapping. Thread-safe.
 *
 * <p>The key source is built on first use, after discovery when no {@code jwks_uri} is configured, so
 * an IdP that is down when the gateway starts does not stop the gateway from starting. A failed
 * discovery is remembered and retried no sooner than {@code jwks_min_refetch_interval}: until then
 * tokens of this issuer get 503 without another request to the IdP.
 */
final class IssuerVerifier implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IssuerVerifier.class);

  /** A built processor and what it holds that must be closed. */
  private record Keys(DefaultJWTProcessor<SecurityContext> processor, Closeable source) {}

  private final IssuerConfig config;
  private final HttpFetcher fetcher;
  private final FetchSettings settings;
  private final ExecutorService refresher;
  private final ScheduledExecutorService scheduler;
  private final ClaimsCheck claimsCheck;
  private final ClaimMapper mapper;
  private final TypePolicy types;
  private final Set<JWSAlgorithm> algorithms;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile Keys keys;
  private volatile boolean closed;
  // Guarded by lock: the last failed attempt to build the key source, and when to try again.
  private Failure lastFailure;
  private long retryAtNanos;

  IssuerVerifier(IssuerConfig config, HttpFetcher fetcher, FetchSettings settings, Clock clock, ExecutorService refresher,
      ScheduledExecutorService scheduler) {
    this.config = config;
    this.fetcher = fetcher;
    this.settings = settings;
    this.refresher = refresher;
    this.scheduler = scheduler;
    this.claimsCheck = new ClaimsCheck(config, clock);
    this.mapper = new ClaimMapper(config.claims(), config.issuer());
    this.types = new TypePolicy(config.tokenTypes());
    Set<JWSAlgorithm> algs = new LinkedHashSet<>();
    for (String a : config.algorithms()) {
      algs.add(JWSAlgorithm.parse(a));
    }
    this.algorithms = Set.copyOf(algs);
  }

  IssuerConfig config() {
    return config;
  }

  /** Whether {@code alg} (exactly as the header spells it) is on this issuer's allow-list. */
  boolean allows(String alg) {
    return config.algorithms().contains(alg);
  }

  boolean acceptsType(SignedJWT jwt) {
    return types.accepts(jwt.getHeader().getType());
  }

  /**
   * Full verification of a token already parsed and pre-checked by the caller. {@code payload} is the
   * token's payload as sent: the principal is mapped from it rather than from Nimbus' claims set,
   * which quietly coerces some types (a numeric {@code sub} becomes a string).
   */
  Principal verify(SignedJWT jwt, Map<String, Object> payload) throws Rejected {
    Keys k = keys();
    try {
      k.processor().process(jwt, null);
    } catch (ClaimsCheck.Refused e) {
      throw new Rejected(e.reason, e.getMessage());
    } catch (BadJWSException e) {
      throw new Rejected(Reason.BAD_SIGNATURE, "signature does not verify");
    } catch (BadJWTException e) {
      throw new Rejected(Reason.BAD_CLAIM, "token claims rejected");
    } catch (BadJOSEException e) {
      // The caller checked alg and typ first, so what is left is a kid that matches no key.
      throw new Rejected(Reason.UNKNOWN_KEY, "no signing key of this issuer matches the token (kid)");
    } catch (KeySourceException e) {
      throw new Rejected(Reason.IDP_UNAVAILABLE, "signing keys of this issuer are unavailable: " + cause(e));
    } catch (JOSEException e) {
      throw new Rejected(Reason.BAD_SIGNATURE, "signature could not be verified");
    } catch (RuntimeException e) {
      if (closed) {
        throw new Rejected(Reason.IDP_UNAVAILABLE, "authenticator is shutting down");
      }
      StackTraceElement[] at = e.getStackTrace();
      log.warn("verifying a token of {} failed unexpectedly: {} at {}", config.issuer(), e.getClass().getName(),
          at.length > 0 ? at[0] : "?");
      throw new Rejected(Reason.BAD_SIGNATURE, "token could not be verified");
    }
    return mapper.map(payload);
  }

  private Keys keys() throws Rejected {
    Keys k = keys;
    if (k != null) {
      return k;
    }
    lock.lock();
    try {
      if (closed) {
        throw new Rejected(Reason.IDP_UNAVAILABLE, "authenticator is shutting down");
      }
      if (keys != null) {
        return keys;
      }
      long now = System.nanoTime();
      if (lastFailure != null && now - retryAtNanos < 0) {
        throw new Rejected(lastFailure);
      }
      try {
        keys = build();
        lastFailure = null;
        return keys;
      } catch (Rejected r) {
        lastFailure = r.failure();
        retryAtNanos = now + config.jwksMinRefetchInterval().toNanos();
        throw r;
      }
    } finally {
      lock.unlock();
    }
  }

  private Keys build() throws Rejected {
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSTypeVerifier(types);
    processor.setJWTClaimsSetVerifier(claimsCheck);
    if (config.sharedSecret().isPresent()) {
      // The one secret verifies every allowed HS* token, whatever kid the token names (a JWK selector
      // would insist that the secret carries the same kid).
      SecretKey secret = new SecretKeySpec(config.sharedSecret().get().getBytes(StandardCharsets.UTF_8), "HmacSHA256");
      processor.setJWSKeySelector((header, context) -> algorithms.contains(header.getAlgorithm()) ? List.of(secret) : List.of());
      return new Keys(processor, () -> {});
    }
    URI jwksUri = config.jwksUri().isPresent() ? config.jwksUri().get() : discover();
    // A request waits for keys only when it needs a key the cache lacks, and no longer than one fetch may take.
    JwksCache cache = new JwksCache(config.issuer(), jwksUri, fetcher::fetch, refresher, scheduler, config,
        settings.connectTimeout().plus(settings.requestTimeout()), System::nanoTime);
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, cache));
    return new Keys(processor, cache::close);
  }

  /** The {@code jwks_uri} from the issuer's discovery document, which must name this exact issuer. */
  private URI discover() throws Rejected {
    String base = config.issuer().endsWith("/") ? config.issuer().substring(0, config.issuer().length() - 1) : config.issuer();
    URI url = URI.create(base + "/.well-known/openid-configuration");
    String body;
    try {
      body = fetcher.fetch(url);
    } catch (IOException e) {
      throw new Rejected(Reason.IDP_UNAVAILABLE, "OIDC discovery for this issuer failed: " + e.getMessage());
    }
    Map<String, Object> doc;
    try {
      doc = JSONObjectUtils.parse(body);
    } catch (ParseException e) {
      log.warn("discovery document of {} is not a JSON object", config.issuer());
      throw new Rejected(Reason.IDP_UNAVAILABLE, "OIDC discovery for this issuer failed: the document is not a JSON object");
    }
    Object issuer = doc.get("issuer");
    if (!config.issuer().equals(issuer)) {
      log.error("discovery document at {} names issuer '{}' (expected exactly: '{}'); tokens of this issuer are refused", url,
          issuer, config.issuer());
      throw new Rejected(Reason.IDP_UNAVAILABLE,
          "OIDC discovery for this issuer failed: the document names another issuer (check the configured issuer string)");
    }
    if (!(doc.get("jwks_uri") instanceof String jwks)) {
      throw new Rejected(Reason.IDP_UNAVAILABLE, "OIDC discovery for this issuer failed: the document has no jwks_uri");
    }
    try {
      return Checks.fetchableUrl("jwks_uri", jwks, config.allowHttp());
    } catch (IllegalArgumentException e) {
      log.error("discovered {} for {}", e.getMessage(), config.issuer());
      throw new Rejected(Reason.IDP_UNAVAILABLE, "OIDC discovery for this issuer failed: its jwks_uri is not an acceptable URL");
    }
  }

  /** The client-safe part of a key source failure: our fetcher's message, or what kind of failure it was. */
  private static String cause(KeySourceException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof FetchFailed f) {
        return "JWKS request failed: " + f.getMessage();
      }
      if (t instanceof JWKSetParseException) {
        return "the JWKS endpoint did not return a JWK set";
      }
    }
    return "JWKS could not be fetched";
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      Keys k = keys;
      if (k != null) {
        try {
          k.source().close();
        } catch (IOException e) {
          log.debug("closing the key source of {}: {}", config.issuer(), e.toString());
        }
      }
    } finally {
      lock.unlock();
    }
  }
}
