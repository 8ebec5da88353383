// The console's only script (the Content-Security-Policy allows no inline script): ask
// before an action that cannot be undone from the page.
document.addEventListener("submit", function (event) {
  var button = event.target.querySelector("button.danger");
  if (button && !window.confirm("确定要停用该用户吗？停用后该用户无法登录，也无法使用 API 令牌。")) {
    event.preventDefault();
  }
});
