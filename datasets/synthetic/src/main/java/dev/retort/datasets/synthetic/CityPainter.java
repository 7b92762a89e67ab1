package dev.retort.datasets.synthetic;

import dev.retort.datasets.Protocols;
import dev.retort.datasets.RgbImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Paints one procedural street scene and its label map in the Cityscapes 19-class space: sky, buildings with
 * windows, walls, vegetation and terrain, a perspective road with markings between sidewalks, fences, poles with
 * traffic lights and signs, and vehicles, people and riders placed by depth (nearer ones occlude farther ones),
 * under a random light and colour cast with sensor noise. Everything follows from the seed.
 */
final class CityPainter {
    // Cityscapes train ids
    static final int ROAD = 0, SIDEWALK = 1, BUILDING = 2, WALL = 3, FENCE = 4, POLE = 5, LIGHT = 6, SIGN = 7, VEGETATION = 8,
            TERRAIN = 9, SKY = 10, PERSON = 11, RIDER = 12, CAR = 13, TRUCK = 14, BUS = 15, TRAIN = 16, MOTORCYCLE = 17, BICYCLE = 18;

    private final int w, h;
    private final SplittableRandom r;
    private final float[] rgb;   // planar R, G, B in [0, 1]
    private final int[] label;
    private final long noiseSeed;
    private int horizon;
    private double vanishX;

    private CityPainter(int width, int height, long seed) {
        this.w = width;
        this.h = height;
        this.r = new SplittableRandom(seed);
        this.rgb = new float[3 * width * height];
        this.label = new int[width * height];
        this.noiseSeed = seed * 0x2545F4914F6CDD1DL;
    }

    /** The scene of {@code seed} at {@code width × height}: planar RGB bytes and labels (255 = ego-vehicle hood, ignored). */
    static RgbImage paint(int width, int height, long seed, int[] labelsOut) {
        CityPainter p = new CityPainter(width, height, seed);
        p.scene();
        System.arraycopy(p.label, 0, labelsOut, 0, p.label.length);
        byte[] planes = new byte[p.rgb.length];
        for (int i = 0; i < planes.length; i++) planes[i] = (byte) Math.max(0, Math.min(255, Math.round(p.rgb[i] * 255)));
        return new RgbImage(width, height, planes);
    }

    private void scene() {
        horizon = (int) (h * (0.33 + 0.17 * r.nextDouble()));
        vanishX = w * (0.35 + 0.3 * r.nextDouble());
        sky();
        buildings();
        groundAndRoad();
        if (r.nextDouble() < 0.2) train();
        roadside();
        agents();
        if (r.nextDouble() < 0.3) hood();
        light();
    }

    // ---- layers ----------------------------------------------------------------------------------------------------

    private void sky() {
        float[] top = pick(new float[][] {{0.35f, 0.55f, 0.85f}, {0.6f, 0.62f, 0.66f}, {0.85f, 0.55f, 0.35f}, {0.15f, 0.18f, 0.3f}});
        for (int y = 0; y < horizon; y++) {
            float t = (float) y / Math.max(1, horizon);
            for (int x = 0; x < w; x++) set(x, y, SKY, top[0] + 0.25f * t, top[1] + 0.2f * t, top[2] + 0.1f * t, 0.02f);
        }
    }

    private void buildings() {
        int x = -r.nextInt(40);
        while (x < w) {
            int bw = (int) (w * (0.08 + 0.2 * r.nextDouble()));
            int top = (int) (horizon * (0.05 + 0.8 * r.nextDouble()));
            int bottom = horizon + (int) (h * 0.04);
            float[] facade = pick(new float[][] {{0.55f, 0.5f, 0.45f}, {0.7f, 0.68f, 0.62f}, {0.4f, 0.38f, 0.42f}, {0.6f, 0.45f, 0.35f}, {0.3f, 0.32f, 0.35f}});
            int win = 6 + r.nextInt(10);
            for (int yy = top; yy < bottom; yy++) {
                for (int xx = x; xx < x + bw; xx++) {
                    boolean window = ((xx - x) % win) > win / 3 && ((yy - top) % (win + 2)) > win / 2;
                    float f = window ? 0.45f : 1f;
                    set(xx, yy, BUILDING, facade[0] * f, facade[1] * f, facade[2] * f + (window ? 0.08f : 0), 0.04f);
                }
            }
            if (r.nextDouble() < 0.25) {  // a low wall in front
                int wallTop = bottom - (int) (h * (0.03 + 0.04 * r.nextDouble()));
                fillRect(x, wallTop, x + bw / 2, bottom, WALL, 0.6f, 0.6f, 0.55f, 0.06f, true);
            }
            x += bw + r.nextInt(8);
        }
        for (int t = 0; t < 2 + r.nextInt(4); t++) tree(r.nextInt(w), horizon + (int) (h * 0.03), 0.4 + 0.6 * r.nextDouble());
    }

    private void tree(int cx, int base, double scale) {
        int trunkH = (int) (h * 0.12 * scale), trunkW = Math.max(2, (int) (w * 0.006 * scale));
        fillRect(cx - trunkW, base - trunkH, cx + trunkW, base, VEGETATION, 0.3f, 0.22f, 0.15f, 0.03f, false);
        int radius = (int) (h * 0.09 * scale) + 2;
        for (int b = 0; b < 4; b++) {
            fillEllipse(cx + (int) ((r.nextDouble() - 0.5) * radius), base - trunkH - (int) (r.nextDouble() * radius * 0.6), radius,
                    (int) (radius * 0.8), VEGETATION, 0.2f + 0.1f * (float) r.nextDouble(), 0.45f, 0.15f, 0.12f);
        }
    }

    /** Ground below the horizon: terrain and sidewalks either side of a road converging to the vanishing point. */
    private void groundAndRoad() {
        double roadHalf = w * (0.3 + 0.25 * r.nextDouble()), walk = w * (0.12 + 0.12 * r.nextDouble());
        float asphalt = 0.25f + 0.15f * (float) r.nextDouble();
        boolean dashed = r.nextBoolean();
        for (int y = horizon; y < h; y++) {
            double t = (double) (y - horizon) / Math.max(1, h - horizon);
            double half = roadHalf * t, walkW = walk * t;
            for (int x = 0; x < w; x++) {
                double dx = x - vanishX;
                if (Math.abs(dx) < half) {
                    boolean marking = Math.abs(dx) < Math.max(1, w * 0.004 * t) && (!dashed || ((int) (30 * Math.sqrt(t) * 4) % 2 == 0));
                    float v = marking ? 0.85f : asphalt;
                    set(x, y, ROAD, v, v, v * 1.02f, 0.05f);
                } else if (Math.abs(dx) < half + walkW) {
                    boolean joint = ((int) (dx / Math.max(2, 16 * t)) + (int) ((y - horizon) / Math.max(2, 8 * t))) % 7 == 0;
                    float v = joint ? 0.5f : 0.62f;
                    set(x, y, SIDEWALK, v, v * 0.96f, v * 0.92f, 0.04f);
                } else {
                    set(x, y, TERRAIN, 0.45f, 0.5f, 0.25f, 0.08f);
                }
            }
        }
        // fences along the outer sidewalk edges
        for (int side = -1; side <= 1; side += 2) {
            if (r.nextDouble() < 0.5) continue;
            double edge = roadHalf + walk;
            for (int y = horizon; y < h; y++) {
                double t = (double) (y - horizon) / Math.max(1, h - horizon);
                int x = (int) (vanishX + side * edge * t);
                int height = (int) (h * 0.1 * t) + 1;
                for (int k = 0; k < Math.max(1, (int) (3 * t)); k++) {
                    for (int yy = y - height; yy < y; yy++) {
                        if (((yy + x) & 3) != 0) set(x + side * k, yy, FENCE, 0.55f, 0.5f, 0.45f, 0.03f);
                    }
                }
            }
        }
    }

    /** A tram-like train crossing in the distance. */
    private void train() {
        int y1 = horizon + (int) (h * 0.05), y0 = y1 - (int) (h * 0.12);
        int x0 = r.nextInt(w / 3), x1 = x0 + w / 3 + r.nextInt(w / 3);
        fillRect(x0, y0, x1, y1, TRAIN, 0.8f, 0.75f, 0.2f, 0.04f, false);
        for (int x = x0 + 4; x < x1 - 8; x += 14) fillRect(x, y0 + 3, x + 8, y0 + (y1 - y0) / 2, TRAIN, 0.2f, 0.25f, 0.3f, 0.02f, false);
    }

    /** Poles with traffic lights and signs on the sidewalks. */
    private void roadside() {
        for (int i = 0; i < 2 + r.nextInt(5); i++) {
            double t = 0.1 + 0.9 * r.nextDouble();
            int side = r.nextBoolean() ? 1 : -1;
            int base = horizon + (int) (t * (h - horizon));
            int x = (int) (vanishX + side * w * (0.45 + 0.1 * r.nextDouble()) * t);
            int height = (int) (h * 0.45 * t) + 4, thick = Math.max(1, (int) (w * 0.004 * t) + 1);
            fillRect(x - thick, base - height, x + thick, base, POLE, 0.5f, 0.5f, 0.52f, 0.03f, false);
            int box = Math.max(2, (int) (w * 0.012 * t) + 2);
            if (r.nextBoolean()) {
                fillRect(x - box, base - height, x + box, base - height + 3 * box, LIGHT, 0.12f, 0.12f, 0.1f, 0.02f, false);
                float[] lamp = pick(new float[][] {{0.9f, 0.1f, 0.1f}, {0.95f, 0.7f, 0.1f}, {0.1f, 0.85f, 0.3f}});
                fillEllipse(x, base - height + box, Math.max(1, box / 2), Math.max(1, box / 2), LIGHT, lamp[0], lamp[1], lamp[2], 0.02f);
            } else {
                float[] plate = pick(new float[][] {{0.9f, 0.85f, 0.1f}, {0.85f, 0.1f, 0.1f}, {0.1f, 0.3f, 0.8f}, {0.95f, 0.95f, 0.95f}});
                fillRect(x - 2 * box, base - height, x + 2 * box, base - height + 2 * box, SIGN, plate[0], plate[1], plate[2], 0.03f, false);
            }
        }
    }

    private record Agent(double depth, int kind) {}

    /** Vehicles and people, far to near. */
    private void agents() {
        List<Agent> agents = new ArrayList<>();
        int n = 2 + r.nextInt(9);
        int[] kinds = {CAR, CAR, CAR, CAR, TRUCK, BUS, PERSON, PERSON, PERSON, RIDER, MOTORCYCLE, BICYCLE};
        for (int i = 0; i < n; i++) agents.add(new Agent(0.08 + 0.92 * r.nextDouble(), kinds[r.nextInt(kinds.length)]));
        agents.sort(Comparator.comparingDouble(Agent::depth));
        for (Agent a : agents) {
            int base = horizon + (int) (a.depth * (h - horizon));
            double lane = (r.nextDouble() - 0.5) * 1.4;
            boolean onWalk = a.kind == PERSON && r.nextBoolean();
            int cx = (int) (vanishX + (onWalk ? Math.signum(lane + 1e-9) * 0.5 : lane * 0.35) * w * a.depth);
            double s = a.depth;
            switch (a.kind) {
                case CAR -> vehicle(cx, base, w * 0.22 * s, h * 0.14 * s, CAR, pick(new float[][] {{0.7f, 0.1f, 0.1f}, {0.1f, 0.2f, 0.6f},
                        {0.85f, 0.85f, 0.85f}, {0.1f, 0.1f, 0.1f}, {0.5f, 0.5f, 0.55f}}));
                case TRUCK -> vehicle(cx, base, w * 0.28 * s, h * 0.26 * s, TRUCK, new float[] {0.85f, 0.8f, 0.7f});
                case BUS -> vehicle(cx, base, w * 0.4 * s, h * 0.3 * s, BUS, new float[] {0.2f, 0.5f, 0.7f});
                case MOTORCYCLE -> twoWheeler(cx, base, s, MOTORCYCLE, false);
                case BICYCLE -> twoWheeler(cx, base, s, BICYCLE, false);
                case RIDER -> twoWheeler(cx, base, s, r.nextBoolean() ? BICYCLE : MOTORCYCLE, true);
                default -> person(cx, base, h * 0.3 * s, PERSON);
            }
        }
    }

    private void vehicle(int cx, int base, double width, double height, int cls, float[] paint) {
        int x0 = cx - (int) (width / 2), x1 = cx + (int) (width / 2), y0 = base - (int) height;
        fillRect(x0, y0 + (int) (height * 0.35), x1, base - (int) (height * 0.1), cls, paint[0], paint[1], paint[2], 0.03f, false);
        fillRect(x0 + (int) (width * 0.12), y0, x1 - (int) (width * 0.12), y0 + (int) (height * 0.4), cls, paint[0] * 0.9f, paint[1] * 0.9f, paint[2] * 0.9f, 0.03f, false);
        fillRect(x0 + (int) (width * 0.18), y0 + (int) (height * 0.06), x1 - (int) (width * 0.18), y0 + (int) (height * 0.33), cls, 0.15f, 0.2f, 0.25f, 0.02f, false);
        int wheel = Math.max(1, (int) (height * 0.16));
        fillEllipse(x0 + (int) (width * 0.2), base - wheel, wheel, wheel, cls, 0.05f, 0.05f, 0.05f, 0.01f);
        fillEllipse(x1 - (int) (width * 0.2), base - wheel, wheel, wheel, cls, 0.05f, 0.05f, 0.05f, 0.01f);
    }

    private void twoWheeler(int cx, int base, double s, int cls, boolean ridden) {
        int wheel = Math.max(1, (int) (h * 0.035 * s)), span = (int) (w * 0.05 * s) + 2;
        fillEllipse(cx - span, base - wheel, wheel, wheel, cls, 0.1f, 0.1f, 0.1f, 0.02f);
        fillEllipse(cx + span, base - wheel, wheel, wheel, cls, 0.1f, 0.1f, 0.1f, 0.02f);
        float[] frame = cls == MOTORCYCLE ? new float[] {0.6f, 0.1f, 0.1f} : new float[] {0.2f, 0.5f, 0.3f};
        fillRect(cx - span, base - 2 * wheel - 2, cx + span, base - wheel, cls, frame[0], frame[1], frame[2], 0.03f, false);
        if (ridden) person(cx, base - 2 * wheel, h * 0.22 * s, RIDER);
    }

    private void person(int cx, int base, double height, int cls) {
        float[] cloth = pick(new float[][] {{0.2f, 0.2f, 0.5f}, {0.5f, 0.1f, 0.1f}, {0.1f, 0.1f, 0.1f}, {0.7f, 0.7f, 0.6f}});
        int bodyW = Math.max(1, (int) (height * 0.14)), head = Math.max(1, (int) (height * 0.08));
        int hip = base - (int) (height * 0.45), shoulder = base - (int) (height * 0.8);
        fillRect(cx - bodyW / 2 - 1, hip, cx - 1, base, cls, 0.15f, 0.15f, 0.2f, 0.02f, false);
        fillRect(cx + 1, hip, cx + bodyW / 2 + 1, base, cls, 0.15f, 0.15f, 0.2f, 0.02f, false);
        fillRect(cx - bodyW, shoulder, cx + bodyW, hip, cls, cloth[0], cloth[1], cloth[2], 0.03f, false);
        fillEllipse(cx, shoulder - head, head, head, cls, 0.8f, 0.65f, 0.55f, 0.03f);
    }

    /** The ego vehicle's bonnet at the bottom, labelled ignore as in Cityscapes. */
    private void hood() {
        int top = h - (int) (h * (0.06 + 0.06 * r.nextDouble()));
        for (int y = top; y < h; y++) {
            int inset = (int) ((y - top) * -0.5) + (int) (w * 0.1);
            for (int x = Math.max(0, inset); x < Math.min(w, w - inset); x++) {
                int i = y * w + x;
                label[i] = Protocols.IGNORE;
                paintPixel(i, 0.1f, 0.1f, 0.12f, 0.02f, x, y);
            }
        }
    }

    /** A global light level and colour cast, then sensor noise. */
    private void light() {
        float gain = (float) (0.55 + 0.75 * r.nextDouble());
        float[] cast = {(float) (1 + 0.3 * (r.nextDouble() - 0.5)), (float) (1 + 0.3 * (r.nextDouble() - 0.5)), (float) (1 + 0.3 * (r.nextDouble() - 0.5))};
        float noise = (float) (0.01 + 0.04 * r.nextDouble());
        SplittableRandom n = r.split();
        int plane = w * h;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                float v = rgb[c * plane + i] * gain * cast[c] + (float) ((n.nextDouble() - 0.5) * 2 * noise);
                rgb[c * plane + i] = Math.max(0f, Math.min(1f, v));
            }
        }
    }

    // ---- drawing ---------------------------------------------------------------------------------------------------

    private void fillRect(int x0, int y0, int x1, int y1, int cls, float red, float green, float blue, float texture, boolean bricks) {
        for (int y = Math.max(0, y0); y < Math.min(h, y1); y++) {
            for (int x = Math.max(0, x0); x < Math.min(w, x1); x++) {
                float f = bricks && ((y % 6 == 0) || ((x + (y / 6) * 5) % 12 == 0)) ? 0.7f : 1f;
                set(x, y, cls, red * f, green * f, blue * f, texture);
            }
        }
    }

    private void fillEllipse(int cx, int cy, int rx, int ry, int cls, float red, float green, float blue, float texture) {
        for (int y = Math.max(0, cy - ry); y < Math.min(h, cy + ry + 1); y++) {
            for (int x = Math.max(0, cx - rx); x < Math.min(w, cx + rx + 1); x++) {
                double dx = (x - cx) / (double) Math.max(1, rx), dy = (y - cy) / (double) Math.max(1, ry);
                if (dx * dx + dy * dy <= 1) set(x, y, cls, red, green, blue, texture);
            }
        }
    }

    private void set(int x, int y, int cls, float red, float green, float blue, float texture) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        int i = y * w + x;
        label[i] = cls;
        paintPixel(i, red, green, blue, texture, x, y);
    }

    /** Colour with a deterministic per-pixel texture (value noise from a hash of the position). */
    private void paintPixel(int i, float red, float green, float blue, float texture, int x, int y) {
        long hsh = (x * 0x9E3779B1L) ^ (y * 0x85EBCA77L) ^ noiseSeed;
        hsh ^= hsh >>> 33;
        hsh *= 0xff51afd7ed558ccdL;
        hsh ^= hsh >>> 33;
        float t = ((hsh & 0xffff) / 65535f - 0.5f) * 2 * texture;
        int plane = w * h;
        rgb[i] = red + t;
        rgb[plane + i] = green + t;
        rgb[2 * plane + i] = blue + t;
    }

    private float[] pick(float[][] options) {
        return options[r.nextInt(options.length)];
    }
}
