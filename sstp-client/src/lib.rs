//! sstp-client: skeleton; the driver comes with its issue.
