package dev.retort.study;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The study's PNG charts, drawn with XChart (embedded in this bundle) without a display. */
final class Plots {
    static {
        // the study never opens a window; AWT must not look for a display (a server, CI)
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private static final int W = 900, H = 520;

    private Plots() {}

    /**
     * Curves on one axis, one per name (a moving average over {@code window} steps, so noisy per-step losses stay
     * readable); non-finite values (skipped steps) leave a gap in the average. Empty curves are left out; no file is
     * written when all are empty.
     */
    static void curves(Path file, String title, String yTitle, Map<String, List<Double>> series, int window) throws IOException {
        Map<String, List<double[]>> plain = new LinkedHashMap<>();
        series.forEach((name, values) -> plain.put(name, values.stream().map(v -> new double[] {v, 0}).toList()));
        curvesWithSpread(file, title, yTitle, plain, window);
    }

    /**
     * As {@link #curves}, each point a {mean, spread} pair (e.g. over seeds): the spread, averaged over the same
     * window, is drawn as error bars of ± that much at the plotted points when any is non-zero.
     */
    static void curvesWithSpread(Path file, String title, String yTitle, Map<String, List<double[]>> series, int window) throws IOException {
        XYChart chart = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle("step")
                .yAxisTitle(yTitle + " (moving average over " + window + " steps)").build();
        style(chart.getStyler());
        chart.getStyler().setXAxisDecimalPattern("#,##0");
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        int drawn = 0, steps = series.values().stream().mapToInt(List::size).max().orElse(0);
        // XChart puts the ticks of equally spaced x values on data points: sampled at a round stride, they fall on round steps
        int stride = roundStride(steps / 50.0);
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            double[] smooth = movingAverage(e.getValue().stream().map(p -> p[0]).toList(), window);
            double[] spread = movingAverage(e.getValue().stream().map(p -> p[1]).toList(), window);
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>(), errors = new ArrayList<>();
            for (int i = 0; i < smooth.length; i += stride) {
                if (!Double.isFinite(smooth[i])) continue;
                xs.add((double) i);  // the runner counts steps from 0
                ys.add(smooth[i]);
                errors.add(Double.isFinite(spread[i]) ? spread[i] : 0);
            }
            if (xs.isEmpty()) continue;
            XYSeries s = errors.stream().anyMatch(x -> x > 0) ? chart.addSeries(e.getKey(), xs, ys, errors) : chart.addSeries(e.getKey(), xs, ys);
            s.setMarker(SeriesMarkers.NONE);
            drawn++;
        }
        if (drawn > 0) write(chart, file);
        else Files.deleteIfExists(file);  // an earlier run's chart would tell something untrue
    }

    /**
     * One bar per name, the name on the axis under it and its value on top; with {@code errors} (the same length, e.g.
     * a standard deviation over seeds) each bar carries an error bar of ± that much.
     */
    static void bars(Path file, String title, String yTitle, List<String> names, List<Double> values, List<Double> errors) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(W).height(H).title(title).yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setLabelsPosition(0.5);  // inside the bar, clear of the error bar's cap
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setErrorBarsColor(Color.BLACK);
        chart.getStyler().setXAxisLabelRotation(names.stream().mapToInt(String::length).sum() > 90 ? 20 : 0);
        if (errors == null) chart.addSeries(yTitle, names, values);
        else chart.addSeries(yTitle, names, values, errors);
        write(chart, file);
    }

    private static void style(AxesChartStyler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setLegendBorderColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(0xdddddd));
        s.setYAxisDecimalPattern("#,##0.##");
    }

    private static void write(Chart<?, ?> chart, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
    }

    /** The smallest of 1, 2, 5, 10, 20, 50, … that is at least {@code atLeast}. */
    static int roundStride(double atLeast) {
        for (int decade = 1; ; decade *= 10) {
            for (int m : new int[] {1, 2, 5}) {
                if (m * decade >= atLeast) return m * decade;
            }
        }
    }

    /** The mean of the last {@code window} finite values at each step (NaN where none is finite). */
    static double[] movingAverage(List<Double> s, int window) {
        double[] smooth = new double[s.size()];
        double sum = 0;
        int n = 0;
        for (int i = 0; i < s.size(); i++) {
            double v = s.get(i);
            if (Double.isFinite(v)) {
                sum += v;
                n++;
            }
            if (i >= window && Double.isFinite(s.get(i - window))) {
                sum -= s.get(i - window);
                n--;
            }
            smooth[i] = n > 0 ? sum / n : Double.NaN;
        }
        return smooth;
    }
}
