<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>关于我们-立信机械</title>
</head>
<body>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="80"><a href="./"><img src="images/logo.gif" alt="立信机械" border="0"></a></td><td align="right">全国服务热线：<b>010-68840752</b></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0" bgcolor="#003366"><tr><td height="30" align="center"><a href="./">首页</a> | <a href="about.asp">关于我们</a> | <a href="product.asp">产品展示</a> | <a href="news.asp">新闻中心</a> | <a href="contact.asp">联系我们</a></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td width="200" valign="top"><table width="100%" border="0"><tr><td class="lefttitle"><b>产品展示</b></td></tr><tr><td>·<a href="product.asp?id=1">CK6140数控车床</a></td></tr><tr><td>·<a href="product.asp?id=2">C6132普通车床</a></td></tr></table></td>
<td valign="top"><b>关于我们</b><p>常州立信输送机械有限公司始建于1985年，主要生产数控车床和普通车床，产品远销东南亚和非洲。</p></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td align="center" height="60">版权所有：常州立信输送机械有限公司 Copyright &copy; 2003-2023<br>电话：010-68840752 地址：山东省滕州市机床路66号 <a href="https://beian.miit.gov.cn/">鲁ICP备00000003号</a></td></tr></table>
</body>
</html>
