package dev.retort.backbones.support;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What architecture records share. */
public final class Architecture {
    private Architecture() {}

    /** A list as configuration text: {@code "32,64,160,256"} (the form the list keys read back). */
    public static String join(int[] values) {
        return Arrays.stream(values).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** Stochastic-depth rate of every block, linearly spaced from 0 to {@code rate} over all {@code depths} blocks. */
    public static double[] dropPathRates(double rate, int[] depths) {
        int n = Arrays.stream(depths).sum();
        double[] r = new double[n];
        for (int i = 0; i < n; i++) r[i] = n == 1 ? 0 : rate * i / (n - 1);
        return r;
    }
}
