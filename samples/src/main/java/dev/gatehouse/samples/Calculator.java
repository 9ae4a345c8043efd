package dev.gatehouse.samples;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * Evaluates arithmetic on decimals: {@code + - * /}, unary signs and parentheses, with the usual precedence.
 *
 * <p>A recursive-descent parser over this grammar, evaluated while parsing:
 * <pre>
 * expression := term (('+' | '-') term)*
 * term       := factor (('*' | '/') factor)*
 * factor     := ('+' | '-') factor | number | '(' expression ')'
 * number     := digits ['.' digits] | '.' digits
 * </pre>
 * Arithmetic is {@link BigDecimal} so that {@code 0.1 + 0.2} is {@code 0.3}; division rounds to 34
 * significant digits (IEEE decimal128).
 */
final class Calculator {

    /** Bounds recursion so that a hostile "((((...))))" cannot overflow the stack. */
    private static final int MAX_DEPTH = 200;
    static final int MAX_LENGTH = 10_000;

    private final String text;
    private int pos;
    private int depth;

    private Calculator(String text) {
        this.text = text;
    }

    /** The value of {@code expression}, as plain decimal text without trailing zeros. */
    static String evaluate(String expression) {
        if (expression.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("expression is longer than " + MAX_LENGTH + " characters");
        }
        var calc = new Calculator(expression);
        calc.skipSpaces();
        if (calc.atEnd()) {
            throw new IllegalArgumentException("expression is empty");
        }
        BigDecimal value = calc.expression();
        if (!calc.atEnd()) {
            throw calc.error("unexpected '" + calc.text.charAt(calc.pos) + "'");
        }
        BigDecimal stripped = value.stripTrailingZeros();
        return stripped.signum() == 0 ? "0" : stripped.toPlainString();
    }

    private BigDecimal expression() {
        BigDecimal value = term();
        while (true) {
            if (accept('+')) {
                value = value.add(term());
            } else if (accept('-')) {
                value = value.subtract(term());
            } else {
                return value;
            }
        }
    }

    private BigDecimal term() {
        BigDecimal value = factor();
        while (true) {
            if (accept('*')) {
                value = value.multiply(factor());
            } else if (peek('/')) {
                int at = pos;
                accept('/');
                BigDecimal divisor = factor();
                if (divisor.signum() == 0) {
                    pos = at;
                    throw error("division by zero");
                }
                value = value.divide(divisor, MathContext.DECIMAL128);
            } else {
                return value;
            }
        }
    }

    private BigDecimal factor() {
        if (++depth > MAX_DEPTH) {
            throw error("expression nests deeper than " + MAX_DEPTH + " levels");
        }
        try {
            if (accept('-')) {
                return factor().negate();
            }
            if (accept('+')) {
                return factor();
            }
            if (accept('(')) {
                BigDecimal inner = expression();
                if (!accept(')')) {
                    throw error(atEnd() ? "missing ')'" : "expected ')' but found '" + text.charAt(pos) + "'");
                }
                return inner;
            }
            return number();
        } finally {
            depth--;
        }
    }

    private BigDecimal number() {
        int start = pos;
        while (!atEnd() && (Character.isDigit(text.charAt(pos)) || text.charAt(pos) == '.')) {
            pos++;
        }
        if (start == pos) {
            throw error(atEnd() ? "expression ends where a number was expected"
                    : "expected a number but found '" + text.charAt(pos) + "'");
        }
        String digits = text.substring(start, pos);
        skipSpaces();
        try {
            return new BigDecimal(digits);
        } catch (NumberFormatException e) {
            pos = start;
            throw error("malformed number '" + digits + "'");
        }
    }

    private boolean accept(char c) {
        if (peek(c)) {
            pos++;
            skipSpaces();
            return true;
        }
        return false;
    }

    private boolean peek(char c) {
        return !atEnd() && text.charAt(pos) == c;
    }

    private boolean atEnd() {
        return pos >= text.length();
    }

    private void skipSpaces() {
        while (!atEnd() && Character.isWhitespace(text.charAt(pos))) {
            pos++;
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at position " + (pos + 1));
    }
}
