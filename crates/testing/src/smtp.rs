//! A real SMTP listener on 127.0.0.1 for tests: it speaks enough SMTP for any client
//! (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and hands over each message received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The raw message (headers and body), with quoted-printable soft line breaks and
    /// escapes decoded, so links can be searched for.
    pub data: String,
}

impl Mail {
    /// The first `http(s)://…` link containing `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.data
            .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(needle))
            .map(String::from)
    }
}

/// The listener.
#[derive(Clone)]
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    inbox: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Starts listening on 127.0.0.1.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("addr");
        let inbox: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let sink = SmtpSink { addr, inbox: inbox.clone() };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let _ = session(stream, inbox).await;
                });
            }
        });
        sink
    }

    /// `EMAIL_URL` for the server under test.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Waits (up to `timeout`) for a message to `to`.
    pub async fn wait_for(&self, to: &str, timeout: std::time::Duration) -> Mail {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(mail) =
                self.inbox.lock().unwrap().iter().find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            {
                return mail.clone();
            }
            assert!(std::time::Instant::now() < deadline, "no email to {to} within {timeout:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Mail> {
        self.inbox.lock().unwrap().clone()
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 faultline-test ESMTP\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write.write_all(b"250-faultline-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?;
        } else if upper.starts_with("HELO") || upper.starts_with("MAIL FROM") || upper.starts_with("NOOP") {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RSET") {
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr =
                line.split_once(':').map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string()).unwrap_or_default();
            to.push(addr);
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            inbox.lock().unwrap().push(Mail { to: std::mem::take(&mut to), data: decode_quoted_printable(&data) });
            write.write_all(b"250 OK: queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            break;
        } else {
            write.write_all(b"502 Command not implemented\r\n").await?;
        }
    }
    Ok(())
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
