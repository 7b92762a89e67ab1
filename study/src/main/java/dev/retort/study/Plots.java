package dev.retort.study;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import java.awt.FontMetrics;

/** Small PNG charts drawn with Java2D (headless): loss curves per arm and mIoU per arm. */
final class Plots {
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};
    private static final int W = 900, H = 520, LEFT = 80, RIGHT = 220, TOP = 50, BOTTOM = 60;

    private Plots() {}

    /**
     * Training loss per step (moving average over {@code window} steps), one colour per arm: the total as a solid line,
     * the cross-entropy part as a dashed line of the same colour (for a student-only arm the two coincide).
     */
    static void losses(Path file, String title, List<String> names, List<List<Double>> totals, List<List<Double>> ce, int window) throws IOException {
        double max = 0, min = Double.MAX_VALUE;
        int steps = 1;
        double[][] smoothTotal = new double[totals.size()][], smoothCe = new double[totals.size()][];
        for (int a = 0; a < totals.size(); a++) {
            smoothTotal[a] = movingAverage(totals.get(a), window);
            smoothCe[a] = movingAverage(a < ce.size() ? ce.get(a) : List.of(), window);
            for (double[] s : new double[][] {smoothTotal[a], smoothCe[a]}) {
                for (double v : s) {
                    if (!Double.isFinite(v)) continue;
                    max = Math.max(max, v);
                    min = Math.min(min, v);
                }
            }
            steps = Math.max(steps, totals.get(a).size());
        }
        if (min > max) min = 0;
        BufferedImage img = canvas(title, "step", "loss (moving average of " + window + ")");
        Graphics2D g = img.createGraphics();
        smoothRendering(g);
        axes(g, 0, steps, min, max, true);
        BasicStroke solid = new BasicStroke(2f), dashed = new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
        for (int a = 0; a < smoothTotal.length; a++) {
            g.setColor(COLORS[a % COLORS.length]);
            line(g, smoothTotal[a], steps, min, max, solid);
            line(g, smoothCe[a], steps, min, max, dashed);
            legend(g, a, names.get(a));
        }
        g.setColor(Color.DARK_GRAY);
        g.setStroke(solid);
        int y = TOP + 30 + 20 * smoothTotal.length;
        g.drawLine(W - RIGHT + 15, y, W - RIGHT + 27, y);
        g.drawString("total", W - RIGHT + 32, y + 4);
        g.setStroke(dashed);
        g.drawLine(W - RIGHT + 15, y + 18, W - RIGHT + 27, y + 18);
        g.drawString("cross-entropy", W - RIGHT + 32, y + 22);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static double[] movingAverage(List<Double> s, int window) {
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

    private static void line(Graphics2D g, double[] values, int steps, double min, double max, BasicStroke stroke) {
        g.setStroke(stroke);
        int px = -1, py = -1;
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) continue;
            int x = x(i, steps), y = y(values[i], min, max);
            if (px >= 0) g.drawLine(px, py, x, y);
            px = x;
            py = y;
        }
    }

    /** One bar per arm. */
    static void bars(Path file, String title, List<String> names, List<Double> values) throws IOException {
        double max = values.stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).max().orElse(1);
        max = Math.max(max * 1.15, 1e-9);
        BufferedImage img = canvas(title, "", "mIoU %");
        Graphics2D g = img.createGraphics();
        smoothRendering(g);
        axes(g, 0, names.size(), 0, max, false);
        int plotW = W - LEFT - RIGHT, barW = Math.max(8, plotW / Math.max(1, names.size()) - 20);
        for (int a = 0; a < names.size(); a++) {
            double v = values.get(a);
            int x = LEFT + 10 + a * (plotW / Math.max(1, names.size())), y = y(v, 0, max);
            g.setColor(COLORS[a % COLORS.length]);
            g.fillRect(x, y, barW, H - BOTTOM - y);
            g.setColor(Color.BLACK);
            g.drawString(String.format("%.2f", v), x, y - 4);
            name(g, names.get(a), x, barW);
            legend(g, a, names.get(a));
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    /** The arm's name on the axis under its bar, on up to two lines, shortened to the bar's room. */
    private static void name(Graphics2D g, String name, int x, int barW) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        int room = Math.max(barW + 16, 40);
        var fm = g.getFontMetrics();
        String first = name, second = "";
        if (fm.stringWidth(name) > room) {
            int cut = name.lastIndexOf(' ', name.length() / 2 + 4);
            if (cut > 0) {
                first = name.substring(0, cut);
                second = name.substring(cut + 1);
            }
        }
        g.drawString(fit(fm, first, room), x, H - BOTTOM + 14);
        if (!second.isEmpty()) g.drawString(fit(fm, second, room), x, H - BOTTOM + 28);
    }

    private static String fit(FontMetrics fm, String s, int room) {
        if (fm.stringWidth(s) <= room) return s;
        while (s.length() > 1 && fm.stringWidth(s + "…") > room) s = s.substring(0, s.length() - 1);
        return s + "…";
    }

    private static BufferedImage canvas(String title, String xLabel, String yLabel) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(title, LEFT, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(xLabel, LEFT + (W - LEFT - RIGHT) / 2, H - 15);
        g.drawString(yLabel, 10, TOP - 10);
        g.dispose();
        return img;
    }

    private static void axes(Graphics2D g, double x0, double x1, double y0, double y1, boolean xTicks) {
        g.setColor(Color.GRAY);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 4; i++) {
            double v = y0 + (y1 - y0) * i / 4;
            int y = y(v, y0, y1);
            g.drawString(String.format("%.3g", v), 10, y + 4);
            g.drawLine(LEFT - 4, y, LEFT, y);
        }
        if (!xTicks) return;
        g.drawString(String.format("%.0f", x1), W - RIGHT - 20, H - BOTTOM + 16);
        g.drawString(String.format("%.0f", x0), LEFT, H - BOTTOM + 16);
    }

    private static void legend(Graphics2D g, int a, String name) {
        g.setColor(COLORS[a % COLORS.length]);
        g.fillRect(W - RIGHT + 15, TOP + 10 + 20 * a, 12, 12);
        g.setColor(Color.BLACK);
        g.drawString(name, W - RIGHT + 32, TOP + 21 + 20 * a);
    }

    private static int x(double v, double max) {
        return LEFT + (int) ((W - LEFT - RIGHT) * v / Math.max(1, max));
    }

    private static int y(double v, double min, double max) {
        return H - BOTTOM - (int) ((H - TOP - BOTTOM) * (v - min) / Math.max(1e-12, max - min));
    }

    private static void smoothRendering(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    }
}
