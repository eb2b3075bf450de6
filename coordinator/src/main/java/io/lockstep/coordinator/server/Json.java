package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierView;

import java.util.List;

/** The JSON of the HTTP endpoints: small, so written by hand, with strings escaped per RFC 8259. */
final class Json {

    private Json() {
    }

    static String barriers(List<BarrierView> views) {
        StringBuilder sb = new StringBuilder("{\"barriers\":[");
        for (int i = 0; i < views.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            barrier(sb, views.get(i));
        }
        return sb.append("]}").toString();
    }

    static String barrier(BarrierView v) {
        return barrier(new StringBuilder(), v).toString();
    }

    private static StringBuilder barrier(StringBuilder sb, BarrierView v) {
        sb.append("{\"name\":");
        string(sb, v.name());
        sb.append(",\"parties\":").append(v.parties())
                .append(",\"generation\":").append(v.generation())
                .append(",\"waitingCount\":").append(v.waiting().size())
                .append(",\"broken\":").append(v.broken() != null)
                .append(",\"brokenReason\":");
        if (v.broken() == null) {
            sb.append("null");
        } else {
            string(sb, v.broken().message());
        }
        sb.append(",\"waiting\":[");
        for (int i = 0; i < v.waiting().size(); i++) {
            BarrierView.WaitingParty w = v.waiting().get(i);
            sb.append(i > 0 ? "," : "").append("{\"party\":");
            string(sb, w.party());
            sb.append(",\"waitedMillis\":").append(w.waitedMillis()).append('}');
        }
        return sb.append("]}");
    }

    static StringBuilder string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }
}
