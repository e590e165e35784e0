package com.example;

// A logged-in user's session: what SessionLeak keeps forever.
public final class Session {
    final long id;
    final String user;
    final byte[] token = new byte[32];

    Session(long id, String user) {
        this.id = id;
        this.user = user;
    }
}
