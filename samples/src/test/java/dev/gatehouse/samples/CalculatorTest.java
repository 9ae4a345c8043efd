package dev.gatehouse.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(5)
class CalculatorTest {

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '=', value = {
        "1 + 2 * 3 = 7",
        "(1 + 2) * 3 = 9",
        "0.1 + 0.2 = 0.3",
        "10 - 4 - 3 = 3",
        "2 * -3 = -6",
        "--4 = 4",
        "-(1.5 + 2) * 2 = -7",
        "1 / 4 = 0.25",
        "1 / 3 = 0.3333333333333333333333333333333333",
        ".5 * 4 = 2",
        "  42  = 42",
        "100 / 10 / 5 = 2",
        "0 * -1 = 0",
    })
    void evaluatesWithUsualPrecedenceAndExactDecimals(String expression, String expected) {
        assertEquals(expected, Calculator.evaluate(expression));
    }

    @ParameterizedTest(name = "''{0}'' -> {1}")
    @CsvSource(delimiter = '|', value = {
        "1 / 0|division by zero at position 3",
        "(1 + 2|missing ')' at position 7",
        "1 +|expression ends where a number was expected at position 4",
        "2 3|unexpected '3' at position 3",
        "1.2.3|malformed number '1.2.3' at position 1",
        "abc|expected a number but found 'a' at position 1",
        "' '|expression is empty",
    })
    void reportsWhatIsWrongAndWhere(String expression, String message) {
        var error = assertThrows(IllegalArgumentException.class, () -> Calculator.evaluate(expression));
        assertEquals(message, error.getMessage());
    }

    @Test
    void refusesPathologicalNesting() {
        String deep = "(".repeat(1_000) + "1" + ")".repeat(1_000);
        var error = assertThrows(IllegalArgumentException.class, () -> Calculator.evaluate(deep));
        assertEquals("expression nests deeper than 200 levels at position 201", error.getMessage());
    }
}
