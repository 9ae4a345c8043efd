package dev.gatehouse.identity;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import com.nimbusds.jose.proc.SecurityContext;
import dev.gatehouse.identity.AuthResult.Reason;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Nimbus' claims verifier with exact {@code iss}, the issuer's audiences, {@code exp} required (Nimbus
 * checks {@code exp} only when present unless it is required), the skew, and our clock; plus
 * {@code iat} not in the future, which Nimbus leaves alone. Nimbus stays the authority on what is
 * rejected; this class only names the reason, so each refusal gets its own metric label.
 */
final class ClaimsCheck extends DefaultJWTClaimsVerifier<SecurityContext> {
  /** Thrown through Nimbus' processor, carrying the reason out. */
  static final class Refused extends BadJWTException {
    final transient Reason reason;

    Refused(Reason reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  static final Set<String> REQUIRED = Set.of("iss", "exp");

  private final Clock clock;
  private final long skewSeconds;
  private final Set<String> audience;

  ClaimsCheck(IssuerConfig config, Clock clock) {
    // Nimbus wraps the audience set unmodifiably and probes it for null: give it a HashSet.
    super(new HashSet<>(config.audience()), new JWTClaimsSet.Builder().issuer(config.issuer()).build(), new HashSet<>(REQUIRED), null);
    this.clock = clock;
    this.skewSeconds = config.clockSkew().toSeconds();
    this.audience = Set.copyOf(config.audience());
    setMaxClockSkew((int) skewSeconds);
  }

  @Override
  protected Date currentTime() {
    return Date.from(clock.instant());
  }

  @Override
  public void verify(JWTClaimsSet claims, SecurityContext context) throws BadJWTException {
    try {
      super.verify(claims, context);
    } catch (ExpiredJWTException e) {
      throw new Refused(Reason.EXPIRED, "token expired");
    } catch (BadJWTException e) {
      throw diagnose(claims);
    }
    Date iat = claims.getIssueTime();
    if (iat != null && iat.toInstant().isAfter(clock.instant().plusSeconds(skewSeconds))) {
      throw new Refused(Reason.NOT_YET_VALID, "token issued in the future (iat), beyond the allowed clock skew");
    }
  }

  /** Why Nimbus refused, checked in the order it checks. */
  private Refused diagnose(JWTClaimsSet claims) {
    List<String> aud = claims.getAudience();
    if (aud == null || aud.isEmpty()) {
      return new Refused(Reason.WRONG_AUDIENCE, "token has no aud claim (expected: " + String.join(" or ", audience) + ")");
    }
    if (aud.stream().noneMatch(audience::contains)) {
      return new Refused(Reason.WRONG_AUDIENCE, "token is for another audience (expected: " + String.join(" or ", audience) + ")");
    }
    for (String name : List.of("iss", "exp")) {
      if (claims.getClaim(name) == null) {
        return new Refused(Reason.MISSING_CLAIM, "token has no " + name + " claim");
      }
    }
    Date nbf = claims.getNotBeforeTime();
    Instant now = clock.instant();
    if (nbf != null && !nbf.toInstant().isBefore(now.plusSeconds(skewSeconds))) {
      return new Refused(Reason.NOT_YET_VALID, "token not valid yet (nbf)");
    }
    return new Refused(Reason.BAD_CLAIM, "token claims rejected");
  }
}
