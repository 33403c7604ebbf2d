// Loaded by Session.Tests.ps1 with Add-Type: stand-ins that let a Pester test see, from outside the module, what the
// session's kept connections do on the wire.
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace KubesteadTest
{
    // An API server that answers every request with an empty ConfigMap list. It keeps each request's credential (the
    // bearer token, or over TLS the client certificate's subject) and counts the TCP connections it accepted and the
    // ones still open, so a test sees a reconnect, a reuse and a close.
    public sealed class SessionApiServer : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private int _accepted;
        private int _open;

        public SessionApiServer(X509Certificate2 certificate)
        {
            _certificate = certificate;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            Task.Run(AcceptAll);
        }

        public int Port { get; }
        public ConcurrentQueue<string> Tokens { get; } = new ConcurrentQueue<string>();
        public ConcurrentQueue<string> ClientSubjects { get; } = new ConcurrentQueue<string>();
        public int Accepted { get { return Volatile.Read(ref _accepted); } }
        public int Open { get { return Volatile.Read(ref _open); } }

        private async Task AcceptAll()
        {
            while (true)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(); } catch (Exception) { return; }
                Interlocked.Increment(ref _accepted);
                Interlocked.Increment(ref _open);
                _ = Task.Run(() => Serve(client));
            }
        }

        private async Task Serve(TcpClient client)
        {
            try
            {
                using (client)
                {
                    Stream stream = client.GetStream();
                    var subject = "";
                    if (_certificate != null)
                    {
                        var tls = new SslStream(stream);
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                        {
                            ServerCertificate = _certificate,
                            ClientCertificateRequired = true,
                            RemoteCertificateValidationCallback = (sender, certificate, chain, errors) => true,
                        });
                        subject = tls.RemoteCertificate == null ? "" : tls.RemoteCertificate.Subject;
                        stream = tls;
                    }
                    var reader = new StreamReader(stream, Encoding.ASCII);
                    while (true)
                    {
                        var line = await reader.ReadLineAsync();
                        if (line == null) return;
                        var auth = "";
                        var length = 0;
                        for (var header = await reader.ReadLineAsync(); !string.IsNullOrEmpty(header); header = await reader.ReadLineAsync())
                        {
                            if (header.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase)) auth = header.Substring(14).Trim();
                            if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(header.Substring(15).Trim());
                        }
                        if (length > 0) await reader.ReadAsync(new char[length], 0, length);
                        Tokens.Enqueue(auth.StartsWith("Bearer ") ? auth.Substring(7) : auth);
                        ClientSubjects.Enqueue(subject);
                        var body = "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}";
                        var response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.Length + "\r\n\r\n" + body);
                        await stream.WriteAsync(response, 0, response.Length);
                        await stream.FlushAsync();
                    }
                }
            }
            catch (Exception)
            {
                // The client went away mid-request; the connection is closed either way.
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }

        public void Dispose() { _listener.Stop(); }
    }

    // A TCP proxy in front of a plain-http API server that holds every Event write (POST to events.k8s.io) for a while
    // before passing it on, and counts the Event writes whose answer came back: what a cmdlet that returns before its
    // Events are written would leave unanswered.
    public sealed class EventHoldingProxy : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly int _target;
        private readonly TimeSpan _hold;
        private int _answered;

        public EventHoldingProxy(int targetPort, TimeSpan hold)
        {
            _target = targetPort;
            _hold = hold;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            Task.Run(AcceptAll);
        }

        public int Port { get; }
        public int EventWritesAnswered { get { return Volatile.Read(ref _answered); } }

        private async Task AcceptAll()
        {
            while (true)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(); } catch (Exception) { return; }
                _ = Task.Run(() => Relay(client));
            }
        }

        private async Task Relay(TcpClient client)
        {
            using (client)
            using (var upstream = new TcpClient())
            {
                try
                {
                    await upstream.ConnectAsync(IPAddress.Loopback, _target);
                    var eventPending = new StrongBox<bool>();
                    var up = Pump(client.GetStream(), upstream.GetStream(), eventPending, toServer: true);
                    var down = Pump(upstream.GetStream(), client.GetStream(), eventPending, toServer: false);
                    await Task.WhenAny(up, down);
                }
                catch (Exception)
                {
                    // Either side closed.
                }
            }
        }

        // The client sends one request at a time on a connection (HTTP/1.1 without pipelining), so the first bytes back
        // after an Event write are its answer.
        private async Task Pump(Stream from, Stream to, StrongBox<bool> eventPending, bool toServer)
        {
            var buffer = new byte[65536];
            while (true)
            {
                var read = await from.ReadAsync(buffer, 0, buffer.Length);
                if (read == 0) return;
                if (toServer && Encoding.ASCII.GetString(buffer, 0, Math.Min(read, 64)).StartsWith("POST /apis/events.k8s.io/", StringComparison.Ordinal))
                {
                    await Task.Delay(_hold);
                    eventPending.Value = true;
                }
                await to.WriteAsync(buffer, 0, read);
                if (!toServer && eventPending.Value)
                {
                    eventPending.Value = false;
                    Interlocked.Increment(ref _answered);
                }
            }
        }

        public void Dispose() { _listener.Stop(); }
    }

    // A CA, a server certificate for 127.0.0.1 it issued, and client certificates, written as PEM files.
    public sealed class TestPki : IDisposable
    {
        private readonly X509Certificate2 _ca;
        private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        public TestPki(string directory)
        {
            Directory = directory;
            _ca = SelfSignedCa("Session test CA", _caKey);
            File.WriteAllText(CaPath, _ca.ExportCertificatePem());
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            using (var server = Issue("127.0.0.1", key, serverAuth: true))
            {
                // Through PKCS#12 so that SslStream gets a key it can use on every platform.
                ServerCertificate = X509CertificateLoader.LoadPkcs12(server.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
            }
        }

        public string Directory { get; }
        public string CaPath { get { return Path.Combine(Directory, "ca.pem"); } }
        public X509Certificate2 ServerCertificate { get; }

        // Writes (or overwrites) a client certificate for CN=commonName and its key at certPath and keyPath.
        public void WriteClientCertificate(string commonName, string certPath, string keyPath)
        {
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            using (var cert = Issue(commonName, key, serverAuth: false))
            {
                File.WriteAllText(certPath, cert.ExportCertificatePem());
                File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            }
        }

        // The CA file again with another, unrelated CA before it: it still trusts the server, but it is not the same file.
        public void AddUnrelatedCa()
        {
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            using (var other = SelfSignedCa("Unrelated CA", key))
            {
                File.WriteAllText(CaPath, other.ExportCertificatePem() + "\n" + _ca.ExportCertificatePem());
            }
        }

        private static X509Certificate2 SelfSignedCa(string name, ECDsa key)
        {
            var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = DateTimeOffset.UtcNow;
            return request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(1).AddHours(1));
        }

        private X509Certificate2 Issue(string name, ECDsa key, bool serverAuth)
        {
            var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") }, false));
            if (serverAuth)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }
            return request.Create(_ca, _ca.NotBefore, _ca.NotAfter.AddHours(-1), RandomNumberGenerator.GetBytes(12));
        }

        public void Dispose()
        {
            _ca.Dispose();
            _caKey.Dispose();
            ServerCertificate.Dispose();
        }
    }
}
