"""An XSS corpus for interventions: (id, Markdown) pairs that must all come back inert.

Written for this project (tests/test_xss.py): each vector calls `top.__xss('<id>')` (or
alert/confirm/prompt) if it ever runs, so the browser test can tell which one fired. Every
URL that a vector would fetch or navigate to is on 127.0.0.1 port 9 (EVIL), a different
origin from the test server: the browser test intercepts it, and nothing leaves the machine.

Families: event handlers, javascript:/vbscript:/data: URLs, entity and whitespace tricks,
SVG and MathML, CSS, active elements (iframe, object, form, meta, base), broken markup and
mXSS-style nesting, and Markdown-specific routes (autolinks, reference links, titles,
images, nested brackets, HTML blocks, code spans, fenced info strings, tables).
"""

from __future__ import annotations

EVIL = "http://127.0.0.1:9"  # another origin than the server under test; nothing listens

CORPUS: list[tuple[str, str]] = [
    # ---- event handlers in raw HTML (the parser must escape them; nh3 must drop them) ----
    # the classic broken image
    ("eh-img-onerror", "<img src=x onerror=\"top.__xss('eh-img-onerror')\">"),
    # slashes instead of spaces between attributes
    ("eh-img-slashes", "<img/src=x/onerror=top.__xss('eh-img-slashes')>"),
    # body onload inside a fragment
    ("eh-body-onload", "<body onload=\"top.__xss('eh-body-onload')\">"),
    # details fires ontoggle by itself when open
    (
        "eh-details-ontoggle",
        "<details open ontoggle=\"top.__xss('eh-details-ontoggle')\">x</details>",
    ),
    # autofocus fires onfocus without interaction
    ("eh-input-autofocus", "<input autofocus onfocus=\"top.__xss('eh-input-autofocus')\">"),
    # an allowed tag (a) carrying a handler
    (
        "eh-a-onmouseover",
        f'<a href="{EVIL}/ok" onmouseover="top.__xss(\'eh-a-onmouseover\')">hover</a>',
    ),
    # an allowed tag (p) carrying a handler and a style that covers the page
    (
        "eh-p-overlay",
        "<p onmouseover=\"top.__xss('eh-p-overlay')\" "
        'style="position:fixed;top:0;left:0;width:100%;height:100%">cover</p>',
    ),
    # media element whose source fails
    ("eh-video-source", "<video><source onerror=\"top.__xss('eh-video-source')\"></video>"),
    # the handler written in upper case, unquoted, with a backtick payload
    ("eh-upper-backtick", "<IMG SRC=x ONERROR=top.__xss(`eh-upper-backtick`)>"),
    # a handler on a tag the allow-list keeps, inside emphasis
    ("eh-strong-onclick", "**<strong onclick=\"top.__xss('eh-strong-onclick')\">bold</strong>**"),
    # ---- javascript: and other script schemes in Markdown links ----
    # plain inline link
    ("js-inline", "[click](javascript:top.__xss('js-inline'))"),
    # upper-case scheme
    ("js-upper", "[click](JAVASCRIPT:top.__xss('js-upper'))"),
    # mixed case
    ("js-mixed-case", "[click](JaVaScRiPt:top.__xss('js-mixed-case'))"),
    # destination in angle brackets (may contain spaces and parentheses)
    ("js-angle-destination", "[click](<javascript:top.__xss('js-angle-destination')>)"),
    # leading spaces before the scheme
    ("js-leading-spaces", "[click](   javascript:top.__xss('js-leading-spaces'))"),
    # autolink with a script scheme
    ("js-autolink", "<javascript:top.__xss('js-autolink')>"),
    # autolink, upper case
    ("js-autolink-upper", "<JAVASCRIPT:top.__xss('js-autolink-upper')>"),
    # full reference link
    ("js-reference", "[click][1]\n\n[1]: javascript:top.__xss('js-reference')"),
    # reference definition with a title
    ("js-reference-title", "[click][r]\n\n[r]: javascript:top.__xss('js-reference-title') \"t\""),
    # collapsed reference
    (
        "js-collapsed-reference",
        "[click][]\n\n[click]: javascript:top.__xss('js-collapsed-reference')",
    ),
    # shortcut reference, defined before use
    ("js-shortcut-reference", "[click]: javascript:top.__xss('js-shortcut-reference')\n\n[click]"),
    # vbscript
    ("js-vbscript", '[click](vbscript:msgbox("js-vbscript"))'),
    # livescript, an old Netscape alias
    ("js-livescript", "[click](livescript:top.__xss('js-livescript'))"),
    # image syntax with a script URL
    ("js-image", "![x](javascript:top.__xss('js-image'))"),
    # an image inside a link to a script URL
    ("js-image-in-link", f"[![x]({EVIL}/pixel.png)](javascript:top.__xss('js-image-in-link'))"),
    # nested brackets: an inner script link inside an outer safe one
    ("js-nested-brackets", f"[[inner](javascript:top.__xss('js-nested-brackets'))]({EVIL}/outer)"),
    # brackets inside the link text
    ("js-brackets-in-text", "[a [b] c](javascript:top.__xss('js-brackets-in-text'))"),
    # a raw HTML anchor with a script href
    ("js-html-anchor", "<a href=\"javascript:top.__xss('js-html-anchor')\">click</a>"),
    # raw anchor with leading spaces in the href
    (
        "js-html-anchor-spaces",
        "<a href=\"   javascript:top.__xss('js-html-anchor-spaces')\">click</a>",
    ),
    # raw anchor with leading control characters (browsers strip C0 controls)
    (
        "js-html-anchor-controls",
        "<a href=\"\x01\x02\x0b javascript:top.__xss('js-html-anchor-controls')\">click</a>",
    ),
    # ---- entity and whitespace tricks ----
    # decimal entity for the first letter
    ("ent-decimal", "[click](&#106;avascript:top.__xss('ent-decimal'))"),
    # hexadecimal entity
    ("ent-hex", "[click](&#x6A;avascript:top.__xss('ent-hex'))"),
    # zero-padded decimal entity
    ("ent-zero-padded", "[click](&#0000106;avascript:top.__xss('ent-zero-padded'))"),
    # every character of the scheme encoded
    (
        "ent-all-encoded",
        "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;"
        "top.__xss('ent-all-encoded'))",
    ),
    # named entity for the colon
    ("ent-named-colon", "[click](javascript&colon;top.__xss('ent-named-colon'))"),
    # a tab entity inside the scheme (browsers remove tabs from URLs)
    ("ent-tab-in-scheme", "[click](java&#9;script:top.__xss('ent-tab-in-scheme'))"),
    # a newline entity inside the scheme
    ("ent-newline-in-scheme", "[click](java&#10;script:top.__xss('ent-newline-in-scheme'))"),
    # named &Tab; and &NewLine; entities
    ("ent-named-whitespace", "[click](java&Tab;scr&NewLine;ipt:top.__xss('ent-named-whitespace'))"),
    # a literal tab inside the scheme, in angle brackets
    ("ws-literal-tab", "[click](<java\tscript:top.__xss('ws-literal-tab')>)"),
    # a carriage-return entity inside the scheme of a reference definition
    ("ws-reference-cr", "[click][c]\n\n[c]: java&#13;script:top.__xss('ws-reference-cr')"),
    # a leading control character before the scheme
    ("ws-leading-control", "[click](\x01javascript:top.__xss('ws-leading-control'))"),
    # a percent-encoded colon (stays a relative path, must not turn into a scheme)
    ("ws-percent-colon", "[click](javascript%3Atop.__xss('ws-percent-colon'))"),
    # entities that spell out a tag
    (
        "ent-double-encoded",
        "&lt;img src=x onerror=top.__xss('ent-double-encoded')&gt; &amp;lt;b&amp;gt;",
    ),
    # a null byte splitting a tag name
    ("ent-null-in-tag", "<scr\x00ipt>top.__xss('ent-null-in-tag')</scr\x00ipt>"),
    # ---- data: URLs ----
    # an HTML document in a data URL
    ("data-html", "[click](data:text/html,<script>top.__xss('data-html')</script>)"),
    # the same, base64-encoded (alert: a data: document has an opaque origin)
    (
        "data-html-base64",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YS1odG1sLWJhc2U2NCcpPC9zY3JpcHQ+)",
    ),
    # upper-case scheme
    ("data-upper", "[click](DATA:text/html,<script>alert('data-upper')</script>)"),
    # an SVG image with a handler, as a Markdown image
    ("data-svg-image", "![x](data:image/svg+xml,<svg onload=alert('data-svg-image')>)"),
    # a harmless-looking PNG data image (images are not allowed at all)
    (
        "data-png-image",
        "![x](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==)",
    ),
    # a data URL in an autolink
    ("data-autolink", "<data:text/html,alert('data-autolink')>"),
    # ---- SVG and MathML ----
    # svg onload
    ("svg-onload", "<svg onload=\"top.__xss('svg-onload')\"></svg>"),
    # a script inside svg
    ("svg-script", "<svg><script>top.__xss('svg-script')</script></svg>"),
    # an svg link with xlink:href
    (
        "svg-xlink",
        "<svg><a xlink:href=\"javascript:top.__xss('svg-xlink')\"><text y=20>x</text></a></svg>",
    ),
    # SMIL animation fires onbegin by itself
    (
        "svg-animate",
        "<svg><animate onbegin=\"top.__xss('svg-animate')\" attributeName=x dur=1s></svg>",
    ),
    # SMIL set rewriting an href to a script URL
    (
        "svg-set-href",
        "<svg><a><set attributeName=href "
        "to=\"javascript:top.__xss('svg-set-href')\"/><text y=20>x</text></a></svg>",
    ),
    # math with an href (MathML Core links)
    ("math-href", "<math href=\"javascript:top.__xss('math-href')\"><mi>click</mi></math>"),
    # the DOMPurify-2020 mXSS shape: mglyph/style namespace confusion
    (
        "math-mglyph-style",
        "<math><mtext><table><mglyph><style><img src=x onerror=\"top.__xss('math-mglyph-style')\">",
    ),
    # foreignObject carrying an HTML iframe
    (
        "svg-foreignobject",
        "<svg><foreignObject><iframe srcdoc=\"<script>parent.__xss('svg-foreignobject')</script>\">"
        "</iframe></foreignObject></svg>",
    ),
    # ---- CSS ----
    # a style element importing a remote sheet
    ("css-import", f"<style>@import '{EVIL}/import.css';</style>"),
    # a style element fetching a background
    ("css-background", f"<style>body{{background:url({EVIL}/bg.png)}}</style>"),
    # IE behaviour
    (
        "css-behavior",
        '<p style="behavior:url(#default#time2)" onbegin="top.__xss(\'css-behavior\')">x</p>',
    ),
    # IE expression()
    ("css-expression", "<p style=\"width:expression(top.__xss('css-expression'))\">x</p>"),
    # a script URL in a background image
    ("css-js-url", "<p style=\"background-image:url(javascript:top.__xss('css-js-url'))\">x</p>"),
    # a stylesheet link
    ("css-link", f'<link rel=stylesheet href="{EVIL}/sheet.css">'),
    # ---- active elements ----
    # iframe with srcdoc
    (
        "el-iframe-srcdoc",
        "<iframe srcdoc=\"<script>parent.__xss('el-iframe-srcdoc')</script>\"></iframe>",
    ),
    # iframe with a script src
    ("el-iframe-js", "<iframe src=\"javascript:parent.__xss('el-iframe-js')\"></iframe>"),
    # object with a script URL
    ("el-object", "<object data=\"javascript:top.__xss('el-object')\"></object>"),
    # embed with an HTML data URL
    ("el-embed", "<embed src=\"data:text/html,<script>alert('el-embed')</script>\">"),
    # a form posting to a script URL
    (
        "el-form-action",
        "<form action=\"javascript:top.__xss('el-form-action')\"><button>send</button></form>",
    ),
    # a button overriding its form's action
    (
        "el-button-formaction",
        "<form><button "
        "formaction=\"javascript:top.__xss('el-button-formaction')\">go</button></form>",
    ),
    # meta refresh to a script URL
    (
        "el-meta-refresh",
        '<meta http-equiv="refresh" content="0;url=javascript:top.__xss(\'el-meta-refresh\')">',
    ),
    # a base element redirecting every relative URL (and the page's own room/main.js)
    ("el-base-href", f'<base href="{EVIL}/">'),
    # a plain script element
    ("el-script", "<script>top.__xss('el-script')</script>"),
    # ---- broken markup and mXSS-style nesting ----
    # an unclosed tag at the very end
    ("br-unclosed-img", "<img src=x onerror=top.__xss('br-unclosed-img') "),
    # an unclosed attribute value
    ("br-unclosed-attr", f"<a href=\"{EVIL}/x onmouseover=top.__xss('br-unclosed-attr') x=\">y"),
    # a comment that closes early (<!--> is a complete comment)
    (
        "br-comment-early-close",
        "<!--><img src=x onerror=\"top.__xss('br-comment-early-close')\">-->",
    ),
    # the --!> comment close
    (
        "br-comment-bang-close",
        "<!-- x --!><img src=x onerror=\"top.__xss('br-comment-bang-close')\">",
    ),
    # CDATA outside foreign content is a bogus comment ending at the first >
    ("br-cdata", "<![CDATA[><img src=x onerror=\"top.__xss('br-cdata')\">]]>"),
    # noscript parsed differently with scripting on and off
    (
        "mx-noscript",
        "<noscript><p title=\"</noscript><img src=x onerror=top.__xss('mx-noscript')>\">",
    ),
    # title (RCDATA) hiding a tag
    ("mx-title", "<title><img src=x onerror=\"top.__xss('mx-title')\"></title>"),
    # textarea (RCDATA)
    ("mx-textarea", "<textarea></textarea><img src=x onerror=\"top.__xss('mx-textarea')\">"),
    # a tag split around an inner tag
    ("mx-split-tag", "<scr<script>ipt>top.__xss('mx-split-tag')</scr</script>ipt>"),
    # a processing instruction (bogus comment) hiding a tag
    (
        "mx-processing-instruction",
        "<? x=\"><img src=x onerror=top.__xss('mx-processing-instruction')>\" ?>",
    ),
    # a stray end tag then a script
    ("mx-stray-end-tag", "</p></li></ol><script>top.__xss('mx-stray-end-tag')</script>"),
    # ---- Markdown-specific routes ----
    # an HTML block of type 6 (div) around a script
    ("md-html-block-div", "<div>\n<script>top.__xss('md-html-block-div')</script>\n</div>"),
    # an HTML block of type 1 (script) on its own lines
    ("md-html-block-script", "<script>\ntop.__xss('md-html-block-script')\n</script>"),
    # an HTML block of type 7 (any tag alone on a line)
    ("md-html-block-img", "<img src=x onerror=\"top.__xss('md-html-block-img')\">\n\nafter"),
    # a code span containing a tag
    ("md-code-span", "`<img src=x onerror=\"top.__xss('md-code-span')\">`"),
    # a fenced block whose info string tries to break out of the class attribute
    ("md-fence-info", "```\"><img src=x onerror=top.__xss('md-fence-info')>\ncode\n```"),
    # an indented code block with a tag
    ("md-indented-code", "    <script>top.__xss('md-indented-code')</script>"),
    # a link destination that tries to break out of the href attribute
    ("md-href-quote", f"[click](<{EVIL}/\"onmouseover=\"top.__xss('md-href-quote')>)"),
    # a double-quoted link title that tries to break out of the title attribute
    (
        "md-title-double-quote",
        f'[click]({EVIL}/t "a\\" onmouseover=\\"top.__xss(\'md-title-double-quote\')")',
    ),
    # a single-quoted link title
    (
        "md-title-single-quote",
        f"[click]({EVIL}/t 'a\\' onmouseover=\\'top.__xss(`md-title-single-quote`)\\' x=\\'')",
    ),
    # a parenthesised title with a tag in it
    ("md-title-tag", f"[click]({EVIL}/t (<img src=x onerror=\"top.__xss('md-title-tag')\">))"),
    # a tag as link text
    (
        "md-tag-in-link-text",
        f"[<img src=x onerror=\"top.__xss('md-tag-in-link-text')\">]({EVIL}/t)",
    ),
    # a table cell with a tag and an ATX heading (h1 is not allowed, its text stays)
    (
        "md-table-and-heading",
        "# <svg onload=top.__xss('md-table-and-heading')>\n\n"
        "| a |\n|---|\n| <img src=x onerror=top.__xss('md-table-and-heading')> |",
    ),
    # a Markdown image to another origin (a tracking pixel)
    ("md-image-pixel", f"![pixel]({EVIL}/pixel.png)"),
    # a reference image to another origin
    ("md-image-reference", f"![pixel][p]\n\n[p]: {EVIL}/pixel-ref.png"),
    # an e-mail autolink whose address carries a tag
    ("md-email-autolink", "<x@127.0.0.1?subject=<script>top.__xss('md-email-autolink')</script>>"),
    # an ordered list whose start number is not a number
    ("md-list-start", "1\" onmouseover=\"top.__xss('md-list-start'). item"),
    # ---- links that must survive, with a safe rel (control vectors for the click walk) ----
    # a relative link (stays on the server, inherits http)
    ("ok-relative", "[relative](/rooms/)"),
    # a protocol-relative link to another origin
    ("ok-protocol-relative", "[other](//127.0.0.1:9/protocol-relative)"),
    # a fragment
    ("ok-fragment", "[top](#main)"),
    # an http link with a quoted title
    ("ok-http-title", f"[site]({EVIL}/page \"A title with 'quotes' and <tags>\")"),
    # an https autolink
    ("ok-https-autolink", "<https://127.0.0.1:9/secure>"),
    # a mailto link
    ("ok-mailto", "[write](mailto:secretariat@example.invalid?subject=hello)"),
]
