# ruby-rack: a Rack app run by rackup (webrick), both gems vendored.
run lambda { |env|
  body = "ruby-rack: Rack #{Rack.release} on Ruby #{RUBY_VERSION}, #{ENV['RACK_ENV']}, #{env['PATH_INFO']}\n"
  [200, { "Content-Type" => "text/plain; charset=utf-8" }, [body]]
}
