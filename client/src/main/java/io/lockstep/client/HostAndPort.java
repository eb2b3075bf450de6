package io.lockstep.client;

/** Parses and formats {@code host:port}, {@code host} and {@code [ipv6]:port}. */
record HostAndPort(String host, int port) {

    static HostAndPort parse(String s, int defaultPort) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("coordinator address is empty; expected host:port");
        }
        s = s.trim();
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("bad coordinator address '" + s + "': unclosed '['");
            }
            host = s.substring(1, close);
            if (close + 1 < s.length()) {
                if (s.charAt(close + 1) != ':') {
                    throw new IllegalArgumentException("bad coordinator address '" + s + "'; expected [host]:port");
                }
                port = s.substring(close + 2);
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') != colon) {
                throw new IllegalArgumentException(
                        "bad coordinator address '" + s + "': write an IPv6 address as [addr]:port");
            }
            host = colon < 0 ? s : s.substring(0, colon);
            port = colon < 0 ? null : s.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("bad coordinator address '" + s + "': no host");
        }
        int p = defaultPort;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("bad coordinator address '" + s + "': port must be 1..65535");
            }
        }
        return new HostAndPort(host, p);
    }

    /**
     * Every address of {@code s}: one, or a comma-separated list (the nodes of a group, in the order to try them).
     */
    static java.util.List<HostAndPort> parseAll(String s, int defaultPort) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("coordinator address is empty; expected host:port");
        }
        java.util.List<HostAndPort> all = new java.util.ArrayList<>();
        for (String one : s.split(",")) {
            HostAndPort a = parse(one, defaultPort);
            if (!all.contains(a)) {
                all.add(a);
            }
        }
        return all;
    }

    @Override
    public String toString() {
        return format(host, port);
    }

    static String format(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
