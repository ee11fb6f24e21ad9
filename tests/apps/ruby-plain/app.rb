# ruby-plain: a tiny HTTP server on Ruby's standard library (TCPServer), one thread per client.
require "socket"

port = Integer(ENV.fetch("PORT", "5000"))
server = TCPServer.new("0.0.0.0", port)
$stdout.sync = true
puts "ruby-plain listening on #{port}"
trap("TERM") { exit }

loop do
  client = server.accept
  Thread.new(client) do |c|
    request = c.gets.to_s
    path = request.split(" ")[1] || "/"
    while (line = c.gets) && line != "\r\n"; end
    body = "ruby-plain (stdlib TCPServer) on Ruby #{RUBY_VERSION} under bundler #{defined?(Bundler) ? Bundler::VERSION : 'none'}: #{path}\n"
    c.write "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" \
            "Content-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}"
  rescue StandardError => e
    warn e.message
  ensure
    c.close
  end
end
