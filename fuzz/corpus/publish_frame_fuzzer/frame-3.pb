
&ftp://example.com/a	URL check"text
http://	URL check"text
 https:///path	URL check"text
 example.com/x	URL check"text
%http://host:99999/	URL check"text
-HTTP://EXAMPLE.com:80/a/b/	URL check"text
%http://[::1]:8080/	URL check"text
7$https://user@host/p?q=1&utm_medium=x	URL check"text