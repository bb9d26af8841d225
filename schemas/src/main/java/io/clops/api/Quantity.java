package io.clops.api;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;

/**
 * Kubernetes quantities ({@code 500m}, {@code 2}, {@code 512Mi}, {@code 1.5Gi}, {@code 1e3}), parsed exactly, as the
 * API server's grammar has them:
 * <pre>
 * quantity ::= [+] number suffix          (clops takes no negative quantity)
 * number   ::= digits | digits . digits | digits . | . digits
 * suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | (e|E) [+|-] digits
 * </pre>
 * Values are exact decimals; CPU is counted in millicores and memory in bytes, and a quantity that is not a whole
 * number of those (Kubernetes would round it) is refused, so what is checked is what runs.
 */
public final class Quantity {
    private Quantity() {
    }

    /** The longest quantity taken. */
    public static final int MAX_LENGTH = 40;

    private static final Map<String, BigDecimal> SUFFIX = Map.ofEntries(
            Map.entry("Ki", new BigDecimal(BigInteger.ONE.shiftLeft(10))), Map.entry("Mi", new BigDecimal(BigInteger.ONE.shiftLeft(20))),
            Map.entry("Gi", new BigDecimal(BigInteger.ONE.shiftLeft(30))), Map.entry("Ti", new BigDecimal(BigInteger.ONE.shiftLeft(40))),
            Map.entry("Pi", new BigDecimal(BigInteger.ONE.shiftLeft(50))), Map.entry("Ei", new BigDecimal(BigInteger.ONE.shiftLeft(60))),
            Map.entry("n", BigDecimal.ONE.scaleByPowerOfTen(-9)), Map.entry("u", BigDecimal.ONE.scaleByPowerOfTen(-6)),
            Map.entry("m", BigDecimal.ONE.scaleByPowerOfTen(-3)), Map.entry("", BigDecimal.ONE),
            Map.entry("k", BigDecimal.ONE.scaleByPowerOfTen(3)), Map.entry("M", BigDecimal.ONE.scaleByPowerOfTen(6)),
            Map.entry("G", BigDecimal.ONE.scaleByPowerOfTen(9)), Map.entry("T", BigDecimal.ONE.scaleByPowerOfTen(12)),
            Map.entry("P", BigDecimal.ONE.scaleByPowerOfTen(15)), Map.entry("E", BigDecimal.ONE.scaleByPowerOfTen(18)));

    /** A quantity that is not one: the message says what is wrong with it, for a field error. */
    public static final class Invalid extends IllegalArgumentException {
        Invalid(String message) {
            super(message);
        }
    }

    /** The exact value of a quantity; throws {@link Invalid} saying why it is not one. */
    public static BigDecimal parse(String s) {
        if (s == null || s.isEmpty()) {
            throw new Invalid("is empty");
        }
        if (s.length() > MAX_LENGTH) {
            throw new Invalid("is longer than " + MAX_LENGTH + " characters");
        }
        int i = 0;
        if (s.charAt(0) == '-') {
            throw new Invalid("must not be negative");
        }
        if (s.charAt(0) == '+') {
            i++;
        }
        int start = i;
        int digitsBefore = 0;
        while (i < s.length() && isDigit(s.charAt(i))) {
            i++;
            digitsBefore++;
        }
        int digitsAfter = 0;
        if (i < s.length() && s.charAt(i) == '.') {
            i++;
            while (i < s.length() && isDigit(s.charAt(i))) {
                i++;
                digitsAfter++;
            }
        }
        if (digitsBefore + digitsAfter == 0) {
            throw new Invalid("must start with a number");
        }
        String number = s.substring(start, i);
        if (number.endsWith(".")) {
            number = number.substring(0, number.length() - 1);
        }
        if (number.startsWith(".")) {
            number = "0" + number;
        }
        BigDecimal value = new BigDecimal(number);
        String suffix = s.substring(i);
        BigDecimal factor = SUFFIX.get(suffix);
        if (factor != null) {
            return value.multiply(factor);
        }
        if (suffix.charAt(0) == 'e' || suffix.charAt(0) == 'E') {
            String exp = suffix.substring(1);
            if (exp.matches("[+-]?[0-9]{1,2}")) {
                return value.scaleByPowerOfTen(Integer.parseInt(exp));
            }
            if (exp.matches("[+-]?[0-9]+")) {
                throw new Invalid("has an exponent beyond ±99");
            }
        }
        throw new Invalid("has an unknown suffix '" + RegistryRequests.abbreviate(suffix)
                + "' (one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent e3)");
    }

    /** CPU in millicores: {@code 500m} → 500, {@code 2} → 2000; finer than 1m or beyond a long is {@link Invalid}. */
    public static long millicores(String s) {
        return whole(parse(s).scaleByPowerOfTen(3), "CPU is counted in whole millicores (1m = 0.001 cores)");
    }

    /** Memory in bytes: {@code 512Mi} → 536870912; a fraction of a byte or beyond a long is {@link Invalid}. */
    public static long bytes(String s) {
        return whole(parse(s), "memory is counted in whole bytes");
    }

    private static long whole(BigDecimal v, String unit) {
        BigDecimal stripped = v.stripTrailingZeros();
        if (stripped.scale() > 0) {
            throw new Invalid("is not a whole number of its unit: " + unit);
        }
        if (stripped.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new Invalid("is too large");
        }
        return stripped.longValueExact();
    }

    /** Millicores as Kubernetes would write them: {@code 2000} → "2", {@code 1500} → "1500m". */
    public static String cpu(long millicores) {
        return millicores % 1000 == 0 ? Long.toString(millicores / 1000) : millicores + "m";
    }

    /** Bytes in the largest binary unit that divides them: {@code 2147483648} → "2Gi", {@code 1000} → "1000". */
    public static String memory(long bytes) {
        String[] units = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
        for (int u = 0; u < units.length; u++) {
            long factor = 1L << (10 * (6 - u));
            if (bytes != 0 && bytes % factor == 0) {
                return bytes / factor + units[u];
            }
        }
        return Long.toString(bytes);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
