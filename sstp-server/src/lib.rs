//! sstp-server: skeleton; the driver comes with its issue.
