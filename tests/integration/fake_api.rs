//! A fake Anaconda API: real HTTP/1.1 over a `std::net::TcpListener` on a loopback address, with
//! a per-test script of answers, recording every request (method, path, headers) it receives.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as the server saw it. Header names are lowercased.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status, extra headers and a JSON (or any) body.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request and never answer (until the server is dropped).
    Hang,
    /// Close the connection with a TCP reset before answering.
    Reset,
    /// 200 with a body of `size` bytes.
    Huge(usize),
}

impl Reply {
    /// 200 with `{"user":{"username":"<name>"}}`.
    pub fn ok(username: &str) -> Self {
        Self::json(200, &format!(r#"{{"user":{{"username":"{username}"}}}}"#))
    }

    pub fn json(code: u16, body: &str) -> Self {
        Self::Status {
            code,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::json(401, r#"{"error":{"code":"auth_required"}}"#)
    }

    pub fn forbidden() -> Self {
        Self::json(403, r#"{"error":{"code":"forbidden"}}"#)
    }

    pub fn too_many(retry_after_secs: u64) -> Self {
        Self::Status {
            code: 429,
            headers: vec![("Retry-After".into(), retry_after_secs.to_string())],
            body: r#"{"error":{"code":"rate_limited"}}"#.into(),
        }
    }

    pub fn server_error() -> Self {
        Self::json(500, r#"{"error":{"code":"internal"}}"#)
    }

    pub fn redirect(location: &str) -> Self {
        Self::Status {
            code: 302,
            headers: vec![("Location".into(), location.into())],
            body: String::new(),
        }
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// A running fake API. Stops accepting when dropped.
pub struct FakeApi {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Serves on 127.0.0.1; `handler` gets each request and its 0-based index among all requests.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1", handler)
    }

    /// Answers every request with the same reply.
    pub fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone())
    }

    /// Answers the n-th request with `replies[n]`, and later ones with the last reply.
    pub fn sequence(replies: Vec<Reply>) -> Self {
        Self::start(move |_, n| replies[n.min(replies.len() - 1)].clone())
    }

    pub fn start_on(ip: &str, handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind the fake API");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || accept_loop(&listener, &requests, &stop, &handler))
        };
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    requests: &Arc<Mutex<Vec<Request>>>,
    stop: &Arc<AtomicBool>,
    handler: &Arc<Handler>,
) {
    // A hard limit so a forgotten server never outlives its test by much.
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
        match listener.accept() {
            Ok((stream, _)) => {
                let requests = Arc::clone(requests);
                let stop = Arc::clone(stop);
                let handler = Arc::clone(handler);
                std::thread::spawn(move || serve(stream, &requests, &stop, &*handler));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Serves requests on one connection (keep-alive) until it closes.
fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, stop: &AtomicBool, handler: &Handler) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    loop {
        // Peek first so a reset can leave the request unread: closing a socket with unread data
        // makes the kernel send RST instead of FIN.
        let Some((req, header_len)) = peek_request(&stream) else {
            return;
        };
        let index = {
            let mut all = requests.lock().unwrap();
            all.push(req.clone());
            all.len() - 1
        };
        let reply = handler(&req, index);
        if let Reply::Reset = reply {
            drop(stream);
            return;
        }
        let mut consumed = vec![0u8; header_len];
        if (&stream).read_exact(&mut consumed).is_err() {
            return;
        }
        let ok = match reply {
            Reply::Status { code, headers, body } => write_response(&stream, code, &headers, body.as_bytes()),
            Reply::Huge(size) => {
                let mut body = vec![b' '; size];
                body[0] = b'{';
                body[size - 1] = b'}';
                write_response(
                    &stream,
                    200,
                    &[("Content-Type".into(), "application/json".into())],
                    &body,
                )
            }
            Reply::Hang => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                false
            }
            Reply::Reset => unreachable!(),
        };
        if !ok {
            return;
        }
    }
}

/// Waits until a whole request head is buffered and parses it without consuming it.
fn peek_request(stream: &TcpStream) -> Option<(Request, usize)> {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = stream.peek(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if buf[0] == 0x16 {
            // A TLS ClientHello: answer like a plain HTTP server does, then close.
            let mut s = stream;
            let _ =
                s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((parse_head(&buf[..end + 4]), end + 4));
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn parse_head(head: &[u8]) -> Request {
    let mut lines = BufReader::new(head).lines().map_while(Result::ok);
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    Request {
        method,
        path,
        headers,
    }
}

fn write_response(mut stream: &TcpStream, code: u16, headers: &[(String, String)], body: &[u8]) -> bool {
    let mut head = format!("HTTP/1.1 {code} Fake\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok() && stream.flush().is_ok()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
